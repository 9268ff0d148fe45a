/**
 * The models `npm run models` knows how to fetch: Whisper ggml files for the ASR engine and
 * speaker-embedding ONNX files for the neural speaker encoder. Pure data and lookups.
 *
 * Checksums, and where each comes from:
 * - Whisper `sha256`: the Git LFS object id of each file on Hugging Face
 *   (`huggingface.co/ggerganov/whisper.cpp`, "Git LFS Details · SHA256" on the file's page).
 *   An LFS oid *is* the SHA-256 of the content, published by the host, so these are
 *   authoritative. Sizes are the LFS sizes.
 * - Whisper `sha1`: the table in whisper.cpp's `models/README.md` (and the model card). Kept as a
 *   second, independent publication; verified only where no SHA-256 is listed.
 * - Speaker models: the sherpa-onnx release `speaker-recongition-models` publishes no checksum.
 *   They are trust-on-first-use (see `checksums.json` in the models folder). `reportedSha256`
 *   is a value seen in independent third-party projects, never enforced: a differing first
 *   download only triggers a warning.
 */

const WHISPER_BASE_URL = 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main';
/** The tag really is spelled "recongition". */
const SPEAKER_BASE_URL = 'https://github.com/k2-fsa/sherpa-onnx/releases/download/speaker-recongition-models';

export type ModelKind = 'whisper' | 'speaker' | 'llm';

/**
 * The hosts each kind of model may come from, redirects included (`.x` = any subdomain of x):
 * Hugging Face serves LFS files from its CDN / Xet bridge, GitHub release assets from
 * githubusercontent. Downloads are https only; the checksum is what finally vouches for a file.
 */
export const MODEL_HOSTS: Readonly<Record<ModelKind, readonly string[]>> = {
  whisper: ['huggingface.co', '.huggingface.co', '.hf.co'],
  speaker: ['github.com', '.githubusercontent.com'],
  llm: ['huggingface.co', '.huggingface.co', '.hf.co'],
};

export interface CatalogEntry {
  kind: ModelKind;
  /** Short name: `base`, `large-v3-turbo`, `campplus-en-voxceleb`. */
  name: string;
  /** File name inside MODELS_DIR. */
  file: string;
  url: string;
  /** Expected size in bytes where published. */
  sizeBytes?: number;
  /** Authoritative SHA-256 (lower-case hex); enforced. */
  sha256?: string;
  /** Authoritative SHA-1 (lower-case hex); enforced only when `sha256` is absent. */
  sha1?: string;
  /** Non-authoritative SHA-256 reported by third parties; a mismatch only warns. */
  reportedSha256?: string;
  /** One line for listings. */
  description: string;
}

interface WhisperRow {
  name: string;
  sizeBytes: number;
  sha256: string;
  sha1: string;
}

const WHISPER_ROWS: readonly WhisperRow[] = [
  { name: 'tiny', sizeBytes: 77_691_713, sha256: 'be07e048e1e599ad46341c8d2a135645097a538221678b7acdd1b1919c6e1b21', sha1: 'bd577a113a864445d4c299885e0cb97d4ba92b5f' },
  { name: 'tiny.en', sizeBytes: 77_704_715, sha256: '921e4cf8686fdd993dcd081a5da5b6c365bfde1162e72b08d75ac75289920b1f', sha1: 'c78c86eb1a8faa21b369bcd33207cc90d64ae9df' },
  { name: 'base', sizeBytes: 147_951_465, sha256: '60ed5bc3dd14eea856493d334349b405782ddcaf0028d4b5df4088345fba2efe', sha1: '465707469ff3a37a2b9b8d8f89f2f99de7299dac' },
  { name: 'base.en', sizeBytes: 147_964_211, sha256: 'a03779c86df3323075f5e796cb2ce5029f00ec8869eee3fdfb897afe36c6d002', sha1: '137c40403d78fd54d454da0f9bd998f78703390c' },
  { name: 'small', sizeBytes: 487_601_967, sha256: '1be3a9b2063867b937e64e2ec7483364a79917e157fa98c5d94b5c1fffea987b', sha1: '55356645c2b361a969dfd0ef2c5a50d530afd8d5' },
  { name: 'small.en', sizeBytes: 487_614_201, sha256: 'c6138d6d58ecc8322097e0f987c32f1be8bb0a18532a3f88f734d1bbf9c41e5d', sha1: 'db8a495a91d927739e50b3fc1cc4c6b8f6c2d022' },
  { name: 'medium', sizeBytes: 1_533_763_059, sha256: '6c14d5adee5f86394037b4e4e8b59f1673b6cee10e3cf0b11bbdbee79c156208', sha1: 'fd9727b6e1217c2f614f9b698455c4ffd82463b4' },
  { name: 'medium.en', sizeBytes: 1_533_774_781, sha256: 'cc37e93478338ec7700281a7ac30a10128929eb8f427dda2e865faa8f6da4356', sha1: '8c30f0e44ce9560643ebd10bbe50cd20eafd3723' },
  { name: 'large-v3', sizeBytes: 3_095_033_483, sha256: '64d182b440b98d5203c4f9bd541544d84c605196c4f7b845dfa11fb23594d1e2', sha1: 'ad82bf6a9043ceed055076d0fd39f5f186ff8062' },
  { name: 'large-v3-turbo', sizeBytes: 1_624_555_275, sha256: '1fc70f774d38eb169993ac391eea357ef47c88757ef72ee5943879b7e8e2bc69', sha1: '4af2b29d7ec73d781377bfd1758ca957a807e941' },
];

export const WHISPER_MODELS: readonly CatalogEntry[] = WHISPER_ROWS.map((r) => ({
  kind: 'whisper',
  name: r.name,
  file: `ggml-${r.name}.bin`,
  url: `${WHISPER_BASE_URL}/ggml-${r.name}.bin`,
  sizeBytes: r.sizeBytes,
  sha256: r.sha256,
  sha1: r.sha1,
  description: `Whisper ${r.name} (${r.name.endsWith('.en') ? 'English only' : 'multilingual'}), ggml`,
}));

/**
 * Speaker-embedding models from the sherpa-onnx release. The default is CAM++ trained on
 * VoxCeleb2 (English): 7.18 M parameters, EER 0.73 % on VoxCeleb1-O (3D-Speaker), ~29.6 MB,
 * and about 2.5× faster than ResNet34 in the CAM++ paper (RTF 0.013 vs 0.033 on CPU).
 */
export const SPEAKER_MODELS: readonly CatalogEntry[] = [
  {
    kind: 'speaker',
    name: 'campplus-en-voxceleb',
    file: '3dspeaker_speech_campplus_sv_en_voxceleb_16k.onnx',
    url: `${SPEAKER_BASE_URL}/3dspeaker_speech_campplus_sv_en_voxceleb_16k.onnx`,
    sizeBytes: 29_596_978,
    reportedSha256: '357a834f702b80161e5b981182c038e18553c1f2ca752ed6cec2052365d4129b',
    description: '3D-Speaker CAM++, VoxCeleb2 (English), 7.18 M params, EER 0.73 % Vox1-O',
  },
  {
    kind: 'speaker',
    name: 'campplus-zh-cn-common',
    file: '3dspeaker_speech_campplus_sv_zh-cn_16k-common.onnx',
    url: `${SPEAKER_BASE_URL}/3dspeaker_speech_campplus_sv_zh-cn_16k-common.onnx`,
    description: '3D-Speaker CAM++, 200k Chinese speakers',
  },
  {
    kind: 'speaker',
    name: 'resnet34-en-voxceleb',
    file: 'wespeaker_en_voxceleb_resnet34.onnx',
    url: `${SPEAKER_BASE_URL}/wespeaker_en_voxceleb_resnet34.onnx`,
    description: 'WeSpeaker ResNet34, VoxCeleb2 (English), 6.63 M params, EER 0.867 % Vox1-O-clean',
  },
  {
    kind: 'speaker',
    name: 'resnet34-lm-en-voxceleb',
    file: 'wespeaker_en_voxceleb_resnet34_LM.onnx',
    url: `${SPEAKER_BASE_URL}/wespeaker_en_voxceleb_resnet34_LM.onnx`,
    description: 'WeSpeaker ResNet34 with large-margin fine-tuning, VoxCeleb2 (English), EER 0.797 % Vox1-O-clean',
  },
];

/** The Whisper entry for an `ASR_MODEL` value (`base`, `ggml-base.bin` and `base` are the same). */
export function whisperModel(name: string): CatalogEntry | undefined {
  const n = name.replace(/^ggml-/, '').replace(/\.bin$/, '');
  return WHISPER_MODELS.find((m) => m.name === n);
}

/** The speaker entry for a `SPEAKER_MODEL` value (its file name or short name). */
export function speakerModel(fileOrName: string): CatalogEntry | undefined {
  return SPEAKER_MODELS.find((m) => m.file === fileOrName || m.name === fileOrName);
}

/** File name Whisper expects for an `ASR_MODEL` value, known or not. */
export function whisperFileName(name: string): string {
  return whisperModel(name)?.file ?? `ggml-${name.replace(/^ggml-/, '').replace(/\.bin$/, '')}.bin`;
}

/**
 * The notes' default local model (`npm run models -- --llm`): Qwen2.5-1.5B-Instruct at 4 bits
 * (Q4_K_M), from the Qwen team's own GGUF repository. Chosen for its English and Korean (Qwen2.5
 * is trained on 29+ languages, Korean among them), its 32k context, its reliable JSON under a
 * grammar, and its size: 1.1 GB on disk (resident size and speed: see docs/notes.md, measured
 * on a random-weight model of the same architecture). The SHA-256 is the Git LFS object id of the file at revision
 * 91cad51170dc346986eccefdc2dd33a9da36ead9 (the file's "Git LFS Details" on Hugging Face).
 * Apache-2.0.
 */
export const LLM_MODELS: readonly CatalogEntry[] = [
  {
    kind: 'llm',
    name: 'qwen2.5-1.5b-instruct-q4_k_m',
    file: 'qwen2.5-1.5b-instruct-q4_k_m.gguf',
    url: 'https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/91cad51170dc346986eccefdc2dd33a9da36ead9/qwen2.5-1.5b-instruct-q4_k_m.gguf',
    sizeBytes: 1_117_320_736,
    sha256: '6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e',
    description: 'Qwen2.5-1.5B-Instruct Q4_K_M (multilingual incl. English and Korean), GGUF, for notes',
  },
];
/** The entry `--llm` downloads and the local notes engine uses when LLM_MODEL_PATH is empty. */
export const DEFAULT_LLM_MODEL: CatalogEntry = LLM_MODELS[0]!;
