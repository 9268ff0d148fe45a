/** Pipeline sample rate: every sample index inside the server counts at this rate. */
export const SAMPLE_RATE = 16_000;
/** Analysis frame: Silero VAD v4/v5 at 16 kHz takes 512 samples (32 ms). */
export const FRAME_SAMPLES = 512;
