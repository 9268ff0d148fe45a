/**
 * A small GGUF (version 3) writer, for tests and benchmarks only: no trained language model
 * can be downloaded where this project is built, so the notes engine is exercised on
 * random-weight models of a real architecture that this module writes.
 *
 * Layout (little-endian throughout):
 *   "GGUF" · u32 version · u64 tensor count · u64 key/value count
 *   key/values: string key · u32 value type · value
 *   tensor infos: string name · u32 n_dims · u64 dims[n_dims] (innermost first) · u32 ggml type · u64 offset
 *   zero padding to `general.alignment` (32) · tensor data, each tensor aligned to 32
 * A string is a u64 byte length then UTF-8 bytes; an array is u32 element type · u64 count · elements.
 *
 * Tensor data is produced by a callback per tensor and streamed to the file, so a 1 GB
 * benchmark model never sits in memory.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** GGUF metadata value types. */
export const GgufType = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
type Scalar = Exclude<keyof typeof GgufType, 'array'>;

export type GgufValue =
  | { type: Scalar; value: number | bigint | boolean | string }
  | { type: 'array'; of: Scalar; values: ReadonlyArray<number | string | boolean> };

/** The ggml tensor types this writer can fill. */
export const GgmlTensorType = { f32: 0, f16: 1, q4_0: 2, q8_0: 8 } as const;
export type TensorType = keyof typeof GgmlTensorType;

export interface GgufTensor {
  name: string;
  /** ggml order: innermost (row length) first. */
  dims: readonly number[];
  type: TensorType;
  /** Writes the tensor's bytes (exactly {@link tensorBytes}) through `write`, in any number of chunks. */
  fill(write: (chunk: Buffer) => void): void;
}

const ALIGNMENT = 32;
/** Elements per quantization block of q4_0 and q8_0. */
const QK = 32;

/** Bytes of a tensor's data. */
export function tensorBytes(type: TensorType, dims: readonly number[]): number {
  const n = dims.reduce((a, b) => a * b, 1);
  switch (type) {
    case 'f32':
      return n * 4;
    case 'f16':
      return n * 2;
    case 'q4_0':
      return (n / QK) * (2 + QK / 2);
    case 'q8_0':
      return (n / QK) * (2 + QK);
  }
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function scalar(type: Scalar, v: number | bigint | boolean | string): Buffer {
  switch (type) {
    case 'string':
      return str(String(v));
    case 'bool':
      return Buffer.from([v ? 1 : 0]);
    case 'u8':
      return Buffer.from([Number(v)]);
    case 'i8': {
      const b = Buffer.alloc(1);
      b.writeInt8(Number(v));
      return b;
    }
    case 'u16': {
      const b = Buffer.alloc(2);
      b.writeUInt16LE(Number(v));
      return b;
    }
    case 'i16': {
      const b = Buffer.alloc(2);
      b.writeInt16LE(Number(v));
      return b;
    }
    case 'u32':
      return u32(Number(v));
    case 'i32': {
      const b = Buffer.alloc(4);
      b.writeInt32LE(Number(v));
      return b;
    }
    case 'f32': {
      const b = Buffer.alloc(4);
      b.writeFloatLE(Number(v));
      return b;
    }
    case 'u64':
      return u64(BigInt(v as number | bigint));
    case 'i64': {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(v as number | bigint));
      return b;
    }
    case 'f64': {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(Number(v));
      return b;
    }
  }
}

function encodeValue(v: GgufValue): Buffer {
  if (v.type !== 'array') return Buffer.concat([u32(GgufType[v.type]), scalar(v.type, v.value)]);
  return Buffer.concat([u32(GgufType.array), u32(GgufType[v.of]), u64(v.values.length), ...v.values.map((x) => scalar(v.of, x))]);
}

const pad = (n: number) => (ALIGNMENT - (n % ALIGNMENT)) % ALIGNMENT;

/** Writes a GGUF file: `metadata` in insertion order, then the tensors. */
export function writeGguf(path: string, metadata: ReadonlyArray<[string, GgufValue]>, tensors: readonly GgufTensor[]): void {
  const parts: Buffer[] = [Buffer.from('GGUF', 'ascii'), u32(3), u64(tensors.length), u64(metadata.length)];
  for (const [k, v] of metadata) parts.push(str(k), encodeValue(v));
  let offset = 0;
  for (const t of tensors) {
    if (t.type !== 'f32' && t.type !== 'f16' && t.dims[0]! % QK !== 0) throw new Error(`${t.name}: rows of ${t.dims[0]} are not whole ${QK}-element blocks`);
    parts.push(str(t.name), u32(t.dims.length), ...t.dims.map((d) => u64(d)), u32(GgmlTensorType[t.type]), u64(offset));
    offset += tensorBytes(t.type, t.dims);
    offset += pad(offset);
  }
  const head = Buffer.concat(parts);
  const fd = openSync(path, 'w', 0o600);
  try {
    writeSync(fd, head);
    writeSync(fd, Buffer.alloc(pad(head.length)));
    for (const t of tensors) {
      const want = tensorBytes(t.type, t.dims);
      let wrote = 0;
      t.fill((chunk) => {
        writeSync(fd, chunk);
        wrote += chunk.length;
      });
      if (wrote !== want) throw new Error(`${t.name}: wrote ${wrote} bytes, expected ${want}`);
      writeSync(fd, Buffer.alloc(pad(want)));
    }
  } finally {
    closeSync(fd);
  }
}


/** IEEE half-precision bits of a small finite number (enough for scales and weights here). */
export function f16Bits(x: number): number {
  const f = new Float32Array([x]);
  const i = new Uint32Array(f.buffer)[0]!;
  const sign = (i >>> 16) & 0x8000;
  let exp = ((i >>> 23) & 0xff) - 127 + 15;
  const mant = i & 0x7fffff;
  if (exp <= 0) return sign;
  if (exp >= 31) exp = 30;
  return sign | (exp << 10) | (mant >>> 13);
}

/**
 * Fills a tensor with random weights uniformly in ±`scale` (or all `constant` when given), in
 * chunks of at most 1 MiB.
 */
export function randomFill(type: TensorType, dims: readonly number[], rand: () => number, scale: number, constant?: number) {
  return (write: (chunk: Buffer) => void): void => {
    const n = dims.reduce((a, b) => a * b, 1);
    const value = () => (constant !== undefined ? constant : (rand() * 2 - 1) * scale);
    if (type === 'f32' || type === 'f16') {
      const per = type === 'f32' ? 4 : 2;
      const chunkElems = Math.max(1, Math.floor((1 << 20) / per));
      for (let at = 0; at < n; at += chunkElems) {
        const m = Math.min(chunkElems, n - at);
        const b = Buffer.alloc(m * per);
        for (let i = 0; i < m; i++) {
          if (type === 'f32') b.writeFloatLE(value(), i * 4);
          else b.writeUInt16LE(f16Bits(value()), i * 2);
        }
        write(b);
      }
      return;
    }
    // Quantized: one f16 scale per 32 weights, then the quants. Random quants with a scale of
    // scale/8 (q4_0) or scale/127 (q8_0) spread the weights over ±scale like the float case.
    const blocks = n / QK;
    const blockBytes = tensorBytes(type, [QK]);
    const chunkBlocks = Math.max(1, Math.floor((1 << 20) / blockBytes));
    const d = f16Bits(type === 'q4_0' ? scale / 8 : scale / 127);
    for (let at = 0; at < blocks; at += chunkBlocks) {
      const m = Math.min(chunkBlocks, blocks - at);
      const b = Buffer.alloc(m * blockBytes);
      for (let k = 0; k < m; k++) {
        const o = k * blockBytes;
        b.writeUInt16LE(d, o);
        for (let j = 2; j < blockBytes; j++) b[o + j] = Math.floor(rand() * 256);
      }
      write(b);
    }
  };
}
