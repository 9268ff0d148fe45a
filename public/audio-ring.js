/**
 * The audio a conversation may still have to send: every 16 kHz PCM16 frame captured since the
 * conversation began, by its position in samples, up to a bound (120 s). While the connection
 * is down the page keeps capturing into it; after a resume the server says how much audio it
 * already has (`resume_from`) and the page sends the rest from here, then live audio.
 *
 * Sent frames stay in the ring too: the server may have lost the last ones in flight, and only
 * its `resume_from` tells. When full, the oldest frame is dropped; dropped audio that was never
 * sent is counted as lost so the page can say so.
 */

export const RATE_HZ = 16000;
/** Upper bound of audio kept, seconds (3.84 MB of PCM16). */
export const RING_MAX_S = 120;

export class AudioRing {
  constructor(maxS = RING_MAX_S) {
    this.maxSamples = Math.round(maxS * RATE_HZ);
    /** @type {{ at: number, pcm: Int16Array }[]} oldest first; `at` = first sample's position */
    this.frames = [];
    this.samples = 0;
    /** Position (samples since the conversation began) of the next frame to capture. */
    this.captured = 0;
    /** Position up to which audio has been handed to the socket. */
    this.sent = 0;
    /** Samples dropped from the ring before they were ever sent. */
    this.lostSamples = 0;
  }

  /** Appends one captured frame (an ArrayBuffer of PCM16); drops the oldest beyond the bound. */
  push(buffer) {
    const pcm = new Int16Array(buffer);
    this.frames.push({ at: this.captured, pcm });
    this.captured += pcm.length;
    this.samples += pcm.length;
    while (this.samples > this.maxSamples && this.frames.length > 1) {
      const old = this.frames.shift();
      this.samples -= old.pcm.length;
      const end = old.at + old.pcm.length;
      if (end > this.sent) this.lostSamples += end - Math.max(old.at, this.sent);
    }
  }

  /** Position of the oldest sample still kept. */
  get oldest() {
    return this.frames.length > 0 ? this.frames[0].at : this.captured;
  }

  /** Seconds captured but not yet sent (what a drop has piled up). */
  get pendingS() {
    return (this.captured - this.sent) / RATE_HZ;
  }

  get lostS() {
    return this.lostSamples / RATE_HZ;
  }

  /**
   * Moves the send position back (or forward) to `sample`, as the server's `resume_from` says.
   * Returns the number of samples that are no longer here (the server lacks them and the ring
   * dropped them): the caller sends that much silence so the conversation clock stays right.
   */
  rewindTo(sample) {
    const target = Math.max(0, Math.min(sample, this.captured));
    const gap = Math.max(0, this.oldest - target);
    this.sent = target + gap;
    return gap;
  }

  /**
   * Calls `send` with each piece of audio from the send position on (whole frames, the first
   * one cut at the send position), in order, and advances the send position. Stops early when
   * `send` returns false (the socket closed).
   * @param {(pcm: ArrayBuffer) => boolean} send
   */
  drain(send) {
    if (this.sent < this.oldest) this.sent = this.oldest;
    // Frames are in order: find the first that ends after the send position.
    let i = 0;
    while (i < this.frames.length && this.frames[i].at + this.frames[i].pcm.length <= this.sent) i++;
    for (; i < this.frames.length; i++) {
      const f = this.frames[i];
      const piece = this.sent > f.at ? f.pcm.slice(this.sent - f.at).buffer : f.pcm.buffer;
      if (!send(piece)) return;
      this.sent = f.at + f.pcm.length;
    }
  }
}
