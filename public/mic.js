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
   * @param {{
   *   onFrame: (pcm: ArrayBuffer, rms: number, peak: number) => void,
   *   onEnded?: () => void,
   *   onState?: (state: 'running' | 'suspended' | 'interrupted' | 'closed') => void,
   *   onRebuilt?: (rateHz: number) => void,
   * }} handlers
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.stream = null;
    this.context = null;
    this.node = null;
    this.processing = false;
    /** 16 kHz samples delivered since the microphone first opened (continues across rebuilds). */
    this.samples = 0;
    this.opening = null;
    this.rebuilding = null;
    this.onDeviceChange = () => this.#checkDevice();
  }

  get isOpen() {
    return this.stream !== null;
  }

  get deviceRateHz() {
    return this.context ? this.context.sampleRate : 0;
  }

  /** `running`, `suspended`, `interrupted` (Safari, e.g. a phone call) or `closed`. */
  get state() {
    return this.context ? this.context.state : 'closed';
  }

  /** Seconds of audio captured since the microphone opened. */
  get capturedSeconds() {
    return this.samples / 16000;
  }

  /**
   * Opens the microphone (once; later calls reuse it). Throws a MicError. Call it from the
   * user's tap: the AudioContext is created and resumed before anything is awaited, which
   * phones (iOS Safari above all) require.
   */
  open(processing) {
    if (this.stream) return Promise.resolve();
    if (this.rebuilding) return this.rebuilding;
    this.opening ??= this.#open(processing).finally(() => {
      this.opening = null;
    });
    return this.opening;
  }

  /** Resumes a suspended or interrupted context; call it from a tap. Resolves to the new state. */
  async resume() {
    if (!this.context) return 'closed';
    try {
      await this.context.resume();
    } catch {
      // The state below tells the caller it did not work.
    }
    return this.context ? this.context.state : 'closed';
  }

  async #open(processing) {
    if (!window.isSecureContext) throw new MicError('insecure');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new MicError('unsupported');
    if (typeof AudioWorkletNode === 'undefined' || typeof AudioContext === 'undefined') throw new MicError('unsupported');
    // Inside the tap, before the first await: created here, a context may start running.
    let tapContext = null;
    try {
      tapContext = new AudioContext();
      tapContext.resume().catch(() => {});
    } catch {
      tapContext = null;
    }
    try {
      await this.#build(processing, tapContext);
    } catch (err) {
      if (tapContext && tapContext !== this.context) tapContext.close().catch(() => {});
      throw err;
    }
    navigator.mediaDevices.addEventListener?.('devicechange', this.onDeviceChange);
  }

  /** Acquires the stream and builds the graph; uses `tapContext` when its rate fits the device. */
  async #build(processing, tapContext) {
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
    // Prefer a graph at the device's own rate, so the browser does not resample before our
    // filter (and Firefox refuses to connect a source of another rate); the worklet resamples
    // any rate to 16 kHz, so the tap's context is fine whenever the device rate is unknown.
    const deviceRate = track.getSettings ? track.getSettings().sampleRate : undefined;
    let context = tapContext;
    if (!context || (deviceRate && context.sampleRate !== deviceRate)) {
      try {
        context = deviceRate ? new AudioContext({ sampleRate: deviceRate }) : new AudioContext();
      } catch {
        context = tapContext ?? new AudioContext();
      }
      if (tapContext && context !== tapContext) tapContext.close().catch(() => {});
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
      context.onstatechange = () => {
        if (this.context === context) this.handlers.onState?.(context.state);
      };
      if (context.state !== 'running') await context.resume().catch(() => {});
      track.addEventListener('ended', () => {
        if (this.stream === stream) this.#recover();
      });
      this.stream = stream;
      this.context = context;
      this.node = node;
      this.processing = processing;
      this.handlers.onState?.(context.state);
    } catch (err) {
      stream.getTracks().forEach((t) => t.stop());
      context.close().catch(() => {});
      throw new MicError('other', (err && err.message) || String(err));
    }
  }

  /**
   * Rebuilds the stream and graph (a headset came or went, the rate changed, the track ended);
   * the sample count continues, so the caller's timeline does too. Reports failure as `onEnded`.
   */
  #recover() {
    if (this.rebuilding || !this.stream) return;
    const processing = this.processing;
    this.#teardown();
    this.rebuilding = this.#build(processing, null)
      .then(() => this.handlers.onRebuilt?.(this.deviceRateHz))
      .catch(() => {
        this.close();
        this.handlers.onEnded?.();
      })
      .finally(() => {
        this.rebuilding = null;
      });
  }

  /** On a device change: rebuild when our track died or now runs at another rate than the graph. */
  #checkDevice() {
    const track = this.stream && this.stream.getAudioTracks()[0];
    if (!track || !this.context) return;
    const rate = track.getSettings ? track.getSettings().sampleRate : undefined;
    if (track.readyState === 'ended' || (rate && rate !== this.context.sampleRate)) this.#recover();
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

  #teardown() {
    for (const id of [...this.#flushWaiters.keys()]) this.#flushDone(id);
    if (this.node) this.node.port.onmessage = null;
    if (this.context) this.context.onstatechange = null;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.context) this.context.close().catch(() => {});
    this.stream = null;
    this.context = null;
    this.node = null;
  }

  /** Stops the microphone and frees the audio graph. Safe to call twice. */
  close() {
    navigator.mediaDevices?.removeEventListener?.('devicechange', this.onDeviceChange);
    this.#teardown();
  }
}
