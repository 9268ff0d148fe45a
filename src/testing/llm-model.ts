/**
 * Random-weight instruct models of real architectures (llama, qwen2) as GGUF files, with a
 * SentencePiece-style tokenizer and a ChatML chat template in their metadata, so that the real
 * node-llama-cpp engine loads them, tokenizes, applies the chat template, and samples under a
 * JSON-schema grammar exactly as it does a trained model. Tests use a tiny one; the benchmark
 * uses the dimensions of the default model (Qwen2.5-1.5B-Instruct) for its speed.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { seededRandom } from './signals.js';
import { randomFill, writeGguf, type GgufTensor, type GgufValue, type TensorType } from './gguf-writer.js';

export interface RandomLlmSpec {
  arch: 'llama' | 'qwen2';
  embd: number;
  layers: number;
  heads: number;
  headsKv: number;
  ff: number;
  contextLength: number;
  /** Vocabulary size; padded with unused tokens beyond the built-in pieces (at least ~420). */
  vocab: number;
  /** Type of the large matrices (norms and biases are always f32). */
  weights: TensorType;
  seed: number;
  /**
   * Extra whole-word pieces (`▁word`), so that a benchmark's text tokenizes at about one token
   * per word, as a trained BPE vocabulary does on English, instead of one per character.
   */
  words?: readonly string[];
}

/** A model small enough to load and generate in a test in well under a second per hundred tokens. */
export const TINY_LLM: RandomLlmSpec = { arch: 'llama', embd: 64, layers: 2, heads: 4, headsKv: 2, ff: 128, contextLength: 8192, vocab: 512, weights: 'f32', seed: 1 };

/**
 * The architecture and size of Qwen2.5-1.5B-Instruct (the default model of `npm run models --
 * --llm`), at 4 bits (q4_0 here; the real file is Q4_K_M, of the same speed class).
 */
export const QWEN25_1_5B_LIKE: RandomLlmSpec = {
  arch: 'qwen2',
  embd: 1536,
  layers: 28,
  heads: 12,
  headsKv: 2,
  ff: 8960,
  contextLength: 32768,
  vocab: 151936,
  weights: 'q4_0',
  seed: 1,
};

const CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Common pieces, so that ordinary English and JSON tokenize into more than single characters. */
const WORDS = [
  'the', 'and', 'to', 'of', 'a', 'in', 'is', 'you', 'that', 'it', 'we', 'for', 'on', 'with', 'will', 'be', 'this', 'are', 'speaker',
  'summary', 'title', 'points', 'decision', 'action', 'question', 'tone', 'positive', 'neutral', 'negative', 'who', 'what', 'when',
];

interface Vocab {
  tokens: string[];
  types: number[];
  scores: number[];
}

/** unk 0, bos 1, eos 2, ChatML markers 3 and 4, the 256 byte tokens, single characters, words, padding. */
function buildVocab(size: number, extraWords: readonly string[] = []): Vocab {
  const tokens: string[] = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>'];
  const types: number[] = [2, 3, 3, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  tokens.push('\u2581');
  types.push(1);
  for (let c = 0x21; c < 0x7f; c++) {
    tokens.push(String.fromCharCode(c));
    types.push(1);
  }
  for (const w of [...new Set([...WORDS, ...extraWords])]) {
    tokens.push(`\u2581${w}`);
    types.push(1);
  }
  for (const p of ['":', '",', '\u2581"', '{"', '"}', '["', '"]', '\u2581[', '\u2581{']) {
    tokens.push(p);
    types.push(1);
  }
  if (tokens.length > size) throw new Error(`vocab must be at least ${tokens.length}`);
  while (tokens.length < size) {
    tokens.push(`<unused${tokens.length}>`);
    types.push(5);
  }
  // SentencePiece merges prefer higher scores: longer pieces win over their characters.
  const scores = tokens.map((t, i) => (types[i] === 1 ? -1000 + [...t].length * 10 - i / size : -10_000));
  return { tokens, types, scores };
}

function metadata(s: RandomLlmSpec): Array<[string, GgufValue]> {
  const a = s.arch;
  const v = buildVocab(s.vocab, s.words);
  return [
    ['general.architecture', { type: 'string', value: a }],
    ['general.name', { type: 'string', value: `duet-random-${a}-${s.embd}x${s.layers}` }],
    ['general.alignment', { type: 'u32', value: 32 }],
    ['general.file_type', { type: 'u32', value: s.weights === 'f32' ? 0 : s.weights === 'f16' ? 1 : s.weights === 'q4_0' ? 2 : 7 }],
    [`${a}.context_length`, { type: 'u32', value: s.contextLength }],
    [`${a}.embedding_length`, { type: 'u32', value: s.embd }],
    [`${a}.block_count`, { type: 'u32', value: s.layers }],
    [`${a}.feed_forward_length`, { type: 'u32', value: s.ff }],
    [`${a}.attention.head_count`, { type: 'u32', value: s.heads }],
    [`${a}.attention.head_count_kv`, { type: 'u32', value: s.headsKv }],
    [`${a}.attention.layer_norm_rms_epsilon`, { type: 'f32', value: 1e-6 }],
    [`${a}.rope.freq_base`, { type: 'f32', value: 1_000_000 }],
    ['tokenizer.ggml.model', { type: 'string', value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: 'array', of: 'string', values: v.tokens }],
    ['tokenizer.ggml.scores', { type: 'array', of: 'f32', values: v.scores }],
    ['tokenizer.ggml.token_type', { type: 'array', of: 'i32', values: v.types }],
    ['tokenizer.ggml.unknown_token_id', { type: 'u32', value: 0 }],
    ['tokenizer.ggml.bos_token_id', { type: 'u32', value: 1 }],
    ['tokenizer.ggml.eos_token_id', { type: 'u32', value: 4 }],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
    ['tokenizer.chat_template', { type: 'string', value: CHATML }],
  ];
}

function tensors(s: RandomLlmSpec): GgufTensor[] {
  const rand = seededRandom(s.seed);
  const headDim = s.embd / s.heads;
  const kv = headDim * s.headsKv;
  const out: GgufTensor[] = [];
  const add = (name: string, dims: number[], type: TensorType, scale: number, constant?: number) =>
    out.push({ name, dims, type, fill: randomFill(type, dims, rand, scale, constant) });
  // Token embeddings double as the output matrix (tied, as in Qwen2.5's small models).
  add('token_embd.weight', [s.embd, s.vocab], s.weights, 0.05);
  add('output_norm.weight', [s.embd], 'f32', 0, 1);
  for (let i = 0; i < s.layers; i++) {
    const b = `blk.${i}`;
    add(`${b}.attn_norm.weight`, [s.embd], 'f32', 0, 1);
    add(`${b}.attn_q.weight`, [s.embd, s.embd], s.weights, 0.05);
    add(`${b}.attn_k.weight`, [s.embd, kv], s.weights, 0.05);
    add(`${b}.attn_v.weight`, [s.embd, kv], s.weights, 0.05);
    if (s.arch === 'qwen2') {
      add(`${b}.attn_q.bias`, [s.embd], 'f32', 0.01);
      add(`${b}.attn_k.bias`, [kv], 'f32', 0.01);
      add(`${b}.attn_v.bias`, [kv], 'f32', 0.01);
    }
    add(`${b}.attn_output.weight`, [s.embd, s.embd], s.weights, 0.05);
    add(`${b}.ffn_norm.weight`, [s.embd], 'f32', 0, 1);
    add(`${b}.ffn_gate.weight`, [s.embd, s.ff], s.weights, 0.05);
    add(`${b}.ffn_up.weight`, [s.embd, s.ff], s.weights, 0.05);
    add(`${b}.ffn_down.weight`, [s.ff, s.embd], s.weights, 0.05);
  }
  return out;
}

/** Writes the model to `path` (atomically: a partial file never has the final name). */
export function writeRandomLlm(path: string, spec: RandomLlmSpec): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.partial`;
  writeGguf(tmp, metadata(spec), tensors(spec));
  renameSync(tmp, path);
}

/** `<dir>/random-<arch>-<embd>x<layers>-v<vocab>-<weights>-seed<seed>.gguf`, written when absent. */
export function ensureRandomLlm(dir: string, spec: RandomLlmSpec = TINY_LLM): string {
  const words = spec.words?.length ? `-w${spec.words.length}` : '';
  const path = `${dir}/random-${spec.arch}-${spec.embd}x${spec.layers}-v${spec.vocab}-${spec.weights}-seed${spec.seed}${words}.gguf`;
  if (!existsSync(path)) writeRandomLlm(path, spec);
  return path;
}
