/**
 * A tiny hand-written ONNX (protobuf) encoder, enough to build small test models in a test
 * without Python or a download: ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto and ValueInfoProto, plus `metadata_props`. Field numbers follow `onnx.proto`.
 *
 * Also `speakerEmbeddingTestModel()`: a model with the input/output signature and metadata of
 * the sherpa-onnx speaker-embedding models (3D-Speaker / WeSpeaker exports), so the neural
 * encoder's loading path can be tested for real.
 */

// ---- protobuf wire format ----------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Appends protobuf fields to a growing byte list. */
class ProtoWriter {
  private readonly parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  private varint(value: bigint | number): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** int32 / int64 / enum / bool field (negative numbers take 10 bytes, as protobuf says). */
  int(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_I32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** Packed repeated int64 (the proto3 default encoding for repeated scalars). */
  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

// ---- ONNX model description ---------------------------------------------------------------

/** `TensorProto.DataType` values used here. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** A dimension: a fixed size or a symbolic name such as `'N'`. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  shape: Dim[];
}

export type AttributeValue =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: number[] };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface Initializer {
  name: string;
  dims: number[];
  /** Float tensors only (stored as little-endian `raw_data`). */
  data: Float32Array;
}

export interface OnnxModelSpec {
  graphName?: string;
  nodes: OnnxNode[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: Initializer[];
  /** Default 13. */
  opset?: number;
  /** Default 8. */
  irVersion?: number;
  producerName?: string;
  /** `ModelProto.metadata_props`, in order. */
  metadata?: Record<string, string>;
}

/** `AttributeProto.AttributeType`. */
const ATTR_TYPE = { float: 1, int: 2, string: 3, ints: 7 } as const;

function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2)
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType);
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function writeAttribute(w: ProtoWriter, name: string, a: AttributeValue): void {
  w.string(1, name);
  switch (a.kind) {
    case 'float':
      w.float(2, a.value);
      break;
    case 'int':
      w.int(3, a.value);
      break;
    case 'string':
      w.string(4, a.value);
      break;
    case 'ints':
      w.packedInts(8, a.value);
      break;
  }
  w.int(20, ATTR_TYPE[a.kind]);
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes ?? {})) w.message(5, (aw) => writeAttribute(aw, k, a));
}

function writeInitializer(w: ProtoWriter, t: Initializer): void {
  w.packedInts(1, t.dims);
  w.int(2, DataType.FLOAT);
  w.string(8, t.name);
  const raw = new Uint8Array(t.data.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < t.data.length; i++) view.setFloat32(i * 4, t.data[i]!, true);
  w.bytes(9, raw);
}

/** Serialises a model to the bytes of an `.onnx` file. */
export function encodeOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const m = new ProtoWriter();
  m.int(1, spec.irVersion ?? 8);
  m.string(2, spec.producerName ?? 'duet-transcribe onnx-writer');
  m.message(7, (g) => {
    for (const n of spec.nodes) g.message(1, (nw) => writeNode(nw, n));
    g.string(2, spec.graphName ?? 'graph');
    for (const t of spec.initializers ?? []) g.message(5, (tw) => writeInitializer(tw, t));
    for (const v of spec.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of spec.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  // OperatorSetIdProto: domain (1) '' = the default ai.onnx domain, version (2).
  m.message(8, (o) => o.string(1, '').int(2, spec.opset ?? 13));
  for (const [key, value] of Object.entries(spec.metadata ?? {})) m.message(14, (e) => e.string(1, key).string(2, value));
  return m.finish();
}

// ---- a speaker-embedding stand-in ---------------------------------------------------------

export interface SpeakerTestModelOptions {
  /** Embedding dimension D. Default 16. */
  dim?: number;
  /** Feature dimension (the real models take 80-dim fbank). */
  featDim?: number;
  /** `3d-speaker` (samples in [-1, 1], global-mean feature normalisation) or `wespeaker`. */
  framework?: '3d-speaker' | 'wespeaker';
  /** Extra or overriding metadata entries; a key mapped to `null` is left out. */
  metadata?: Record<string, string | null>;
  /** Seed of the fixed projection matrix. */
  seed?: number;
}

/** Deterministic uniform numbers in [-1, 1) (mulberry32). */
export function seededUniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

/** The fixed `featDim × dim` matrix (row-major) of `speakerEmbeddingTestModel`. */
export function speakerTestProjection(featDim = 80, dim = 16, seed = 1): Float32Array {
  return seededUniform(featDim * dim, seed);
}

/**
 * A model shaped like the sherpa-onnx speaker-embedding exports — input `[N, T, 80]` float,
 * output `[N, D]` float, and the metadata keys sherpa-onnx reads (`framework`, `language`,
 * `url`, `comment`, `sample_rate`, `output_dim`, `normalize_samples`,
 * `feature_normalize_type`) — computing `mean_t(x²) · W` with a fixed matrix W. The square
 * matters: 3D-Speaker models get mean-normalised features, so a plain time average would be
 * zero for every input; the per-bin second moment is not.
 * Input/output names follow each toolkit's export (`x`/`embedding` for 3D-Speaker,
 * `feats`/`embs` for WeSpeaker); sherpa-onnx reads them from the session.
 */
export function speakerEmbeddingTestModel(options: SpeakerTestModelOptions = {}): Uint8Array {
  const dim = options.dim ?? 16;
  const featDim = options.featDim ?? 80;
  const framework = options.framework ?? '3d-speaker';
  const [input, output] = framework === '3d-speaker' ? ['x', 'embedding'] : ['feats', 'embs'];
  const meta: Record<string, string | null> = {
    framework,
    language: 'English',
    url: 'test://generated',
    comment: 'generated in a test: mean over time of x^2, times a fixed matrix',
    sample_rate: '16000',
    output_dim: String(dim),
    normalize_samples: framework === '3d-speaker' ? '1' : '0',
    ...(framework === '3d-speaker' ? { feature_normalize_type: 'global-mean' } : {}),
    ...options.metadata,
  };
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta)) if (v !== null) metadata[k] = v;
  return encodeOnnxModel({
    graphName: 'speaker_embedding_test',
    inputs: [{ name: input, elemType: DataType.FLOAT, shape: ['N', 'T', featDim] }],
    outputs: [{ name: output, elemType: DataType.FLOAT, shape: ['N', dim] }],
    initializers: [{ name: 'W', dims: [featDim, dim], data: speakerTestProjection(featDim, dim, options.seed) }],
    nodes: [
      { opType: 'Mul', inputs: [input, input], outputs: ['sq'], name: 'square' },
      {
        opType: 'ReduceMean',
        inputs: ['sq'],
        outputs: ['pooled'],
        name: 'pool_time',
        attributes: { axes: { kind: 'ints', value: [1] }, keepdims: { kind: 'int', value: 0 } },
      },
      { opType: 'MatMul', inputs: ['pooled', 'W'], outputs: [output], name: 'project' },
    ],
    metadata,
  });
}
