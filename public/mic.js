/**
 * The microphone: acquired once (on the first Record or Start) and kept open, so the page never
 * asks twice and the audio timeline is continuous. Frames flow all the time; the caller decides
 * which ones to send.
 */

/** A coded microphone problem: `kind` is one of insecure | unsupported | denied | missing | busy | other. */
export class MicError extends Error {
  constructor(kind, detail) {
    super(detail || kind);
    this.kind = kind;
  }
}

function classify(err) {
  const name = err && err.name;
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') return new MicError('denied', err.message);
  if (name === 'NotFoundError' || name === 'OverconstrainedError' || name === 'DevicesNotFoundError') return new MicError('missing', err.message);
  if (name === 'NotReadableError' || name === 'AbortError' || name === 'TrackStartError') return new MicError('busy', err.message);
  return new MicError('other', (err && err.message) || String(err));
}

export class Microphone {
  /**
   * @param {{ onFrame: (pcm: ArrayBuffer, rms: number, peak: number) => void, onEnded?: () => void }} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.stream = null;
    this.context = null;
    this.node = null;
    this.processing = false;
    /** 16 kHz samples delivered since the microphone opened. */
    this.samples = 0;
    this.opening = null;
  }

  get isOpen() {
    return this.stream !== null;
  }

  get deviceRateHz() {
    return this.context ? this.context.sampleRate : 0;
  }

  /** Seconds of audio captured since the microphone opened. */
  get capturedSeconds() {
    return this.samples / 16000;
  }

  /** Opens the microphone (once; later calls reuse it). Throws a MicError. */
  open(processing) {
    if (this.stream) return Promise.resolve();
    this.opening ??= this.#open(processing).finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  async #open(processing) {
    if (!window.isSecureContext) throw new MicError('insecure');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new MicError('unsupported');
    if (typeof AudioWorkletNode === 'undefined') throw new MicError('unsupported');
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: {
          channelCount: { ideal: 1 },
          echoCancellation: processing,
          noiseSuppression: processing,
          autoGainControl: processing,
        },
        video: false,
      });
    } catch (err) {
      throw classify(err);
    }
    const track = stream.getAudioTracks()[0];
    if (!track) {
      stream.getTracks().forEach((t) => t.stop());
      throw new MicError('missing');
    }
    // Run the graph at the device's own rate so the browser does not resample before our filter.
    const deviceRate = track.getSettings ? track.getSettings().sampleRate : undefined;
    let context;
    try {
      context = deviceRate ? new AudioContext({ sampleRate: deviceRate }) : new AudioContext();
    } catch {
      context = new AudioContext();
    }
    try {
      await context.audioWorklet.addModule(new URL('./capture-worklet.js', import.meta.url));
      const source = context.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(context, 'capture-processor', {
        numberOfInputs: 1,
        numberOfOutputs: 1,
        outputChannelCount: [1],
        channelCountMode: 'explicit',
        channelCount: Math.max(1, Math.min(2, source.channelCount || 1)),
      });
      node.port.onmessage = (ev) => {
        if (ev.data.flushed !== undefined) {
          this.#flushDone(ev.data.flushed);
          return;
        }
        const { pcm, rms, peak } = ev.data;
        this.samples += pcm.byteLength / 2;
        this.handlers.onFrame(pcm, rms, peak);
      };
      source.connect(node);
      // The worklet writes nothing to its output; connecting it keeps the graph pulling it.
      node.connect(context.destination);
      if (context.state !== 'running') await context.resume();
      track.addEventListener('ended', () => {
        this.close();
        this.handlers.onEnded?.();
      });
      this.stream = stream;
      this.context = context;
      this.node = node;
      this.processing = processing;
    } catch (err) {
      stream.getTracks().forEach((t) => t.stop());
      context.close().catch(() => {});
      throw new MicError('other', (err && err.message) || String(err));
    }
  }

  /** Waiters of {@link flush}, by request id. */
  #flushWaiters = new Map();
  #flushId = 0;

  #flushDone(id) {
    const done = this.#flushWaiters.get(id);
    this.#flushWaiters.delete(id);
    if (done) done();
  }

  /**
   * Delivers the partial frame the worklet holds (through `onFrame`, before this resolves), so
   * the last words before Stop are sent. Resolves after at most 250 ms even if the audio thread
   * does not answer (a suspended context).
   */
  flush() {
    if (!this.node) return Promise.resolve();
    const id = ++this.#flushId;
    return new Promise((resolve) => {
      this.#flushWaiters.set(id, resolve);
      this.node.port.postMessage({ flush: id });
      setTimeout(() => this.#flushDone(id), 250);
    });
  }

  /** Stops the microphone and frees the audio graph. Safe to call twice. */
  close() {
    for (const id of [...this.#flushWaiters.keys()]) this.#flushDone(id);
    if (this.node) this.node.port.onmessage = null;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.context) this.context.close().catch(() => {});
    this.stream = null;
    this.context = null;
    this.node = null;
  }
}
