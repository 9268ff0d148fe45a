/**
 * Microphone capture on the audio thread: mono mix, anti-alias low-pass, resampling to
 * 16 kHz and PCM16 conversion. Posts one message per 100 ms frame to the main thread:
 * `{ pcm: ArrayBuffer (3200 bytes, PCM16 LE), rms: number (linear, 0..1), peak: number }`.
 * On `{ flush: id }` from the main thread it posts the partial frame it holds (fewer bytes; up
 * to 100 ms of the last speech, which would otherwise be lost at Stop), then `{ flushed: id }`.
 *
 * Resampling: a windowed-sinc FIR (Blackman window, cutoff 7.2 kHz, below the 8 kHz Nyquist
 * of the output) runs at the device rate, then each output sample is taken at a fractional
 * input position by linear interpolation between two filtered samples. Because the signal is
 * already band-limited to well under the output Nyquist, the interpolation adds little error,
 * and nothing above 8 kHz folds back into the speech band.
 */

const OUT_RATE_HZ = 16000;
/** 100 ms of output audio. */
const FRAME_SAMPLES = 1600;
const CUTOFF_HZ = 7200;
/** Filter length at 48 kHz (scaled with the device rate): transition band ≈ 2 kHz, stop band ≈ −74 dB. */
const TAPS_AT_48K = 127;

/** Low-pass FIR taps (odd count, unity DC gain) for `cutoffHz` at `rateHz`. */
function designLowPass(rateHz, cutoffHz, count) {
  const taps = new Float32Array(count);
  const fc = cutoffHz / rateHz;
  const mid = (count - 1) / 2;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const x = i - mid;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (count - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (count - 1));
    taps[i] = sinc * w;
    sum += taps[i];
  }
  for (let i = 0; i < count; i++) taps[i] /= sum;
  return taps;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    // `sampleRate` is the AudioContext rate, a global of the worklet scope.
    this.step = sampleRate / OUT_RATE_HZ;
    // Only down-sampling needs the filter; at or below 16 kHz the input has no content to fold.
    if (sampleRate > OUT_RATE_HZ) {
      let count = Math.round((TAPS_AT_48K * sampleRate) / 48000) | 1;
      count = Math.max(31, Math.min(511, count));
      this.taps = designLowPass(sampleRate, CUTOFF_HZ, count);
    } else {
      this.taps = new Float32Array([1]);
    }
    // Input history: enough for the filter plus a few render quanta.
    this.buf = new Float32Array(this.taps.length + 4096);
    this.len = 0;
    // Next output position, in input samples from buf[0]; starts where the filter has full history.
    this.pos = this.taps.length - 1;
    this.frame = new Int16Array(FRAME_SAMPLES);
    this.frameLen = 0;
    this.sumSq = 0;
    this.peak = 0;
    this.port.onmessage = (ev) => {
      if (ev.data && ev.data.flush !== undefined) {
        this.flushFrame();
        this.port.postMessage({ flushed: ev.data.flush });
      }
    };
  }

  /** Posts the partial frame, if any, and starts a new one. */
  flushFrame() {
    if (this.frameLen === 0) return;
    const pcm = this.frame.buffer.slice(0, this.frameLen * 2);
    this.port.postMessage({ pcm, rms: Math.sqrt(this.sumSq / this.frameLen), peak: this.peak }, [pcm]);
    this.frameLen = 0;
    this.sumSq = 0;
    this.peak = 0;
  }

  /** Filtered value at input index i (needs i ≥ taps − 1). */
  fir(i) {
    const h = this.taps;
    const b = this.buf;
    let acc = 0;
    for (let k = 0, j = i; k < h.length; k++, j--) acc += h[k] * b[j];
    return acc;
  }

  append(channels) {
    const n = channels[0].length;
    if (this.len + n > this.buf.length) {
      const grown = new Float32Array(Math.max(this.buf.length * 2, this.len + n));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    const c = channels.length;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let ch = 0; ch < c; ch++) s += channels[ch][i];
      this.buf[this.len + i] = s / c;
    }
    this.len += n;
  }

  emit(y) {
    const s = y > 1 ? 1 : y < -1 ? -1 : y;
    this.frame[this.frameLen++] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
    this.sumSq += s * s;
    const a = s < 0 ? -s : s;
    if (a > this.peak) this.peak = a;
    if (this.frameLen === FRAME_SAMPLES) {
      const pcm = this.frame.buffer;
      this.port.postMessage({ pcm, rms: Math.sqrt(this.sumSq / FRAME_SAMPLES), peak: this.peak }, [pcm]);
      this.frame = new Int16Array(FRAME_SAMPLES);
      this.frameLen = 0;
      this.sumSq = 0;
      this.peak = 0;
    }
  }

  process(inputs) {
    const input = inputs[0];
    // No channels: the source is not delivering yet (or ended). Keep the node alive.
    if (!input || input.length === 0 || input[0].length === 0) return true;
    this.append(input);
    while (Math.floor(this.pos) + 1 < this.len) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = this.fir(i);
      const y = frac === 0 ? a : a + (this.fir(i + 1) - a) * frac;
      this.emit(y);
      this.pos += this.step;
    }
    // Drop input that no future output needs (keep the filter's history before floor(pos)).
    const keepFrom = Math.floor(this.pos) - (this.taps.length - 1);
    if (keepFrom > 0) {
      this.buf.copyWithin(0, keepFrom, this.len);
      this.len -= keepFrom;
      this.pos -= keepFrom;
    }
    return true;
  }
}

registerProcessor('capture-processor', CaptureProcessor);
