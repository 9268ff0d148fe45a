/**
 * Runs of one conversation at several offsets (bench:diarization, analyse-delay): the
 * conversation with that much of its own first audio (the lead-in's room sound) played before
 * it, so the speech front's 32 ms frames, and every segment start and watch window after them,
 * fall elsewhere in the same audio. One run is one draw of that alignment.
 */

/** `--offsets-ms=0,8,16,24` → sample offsets at 16 kHz; throws on anything outside 0–1000 ms. */
export function parseOffsetsMs(value: string): number[] {
  const offsets = value.split(',').map((x) => Math.round((Number(x) * 16_000) / 1000));
  if (!offsets.length || offsets.some((o) => !Number.isFinite(o) || o < 0 || o > 16_000)) throw new Error('--offsets-ms: each between 0 and 1000');
  return offsets;
}

/** `audio` with its own first `offset` samples played once more before it. */
export function withLeadIn(audio: Float32Array, offset: number): Float32Array {
  const out = new Float32Array(offset + audio.length);
  out.set(audio.subarray(0, offset));
  out.set(audio, offset);
  return out;
}
