/**
 * A protocol client over a real WSS connection, for integration tests and benchmarks: connect,
 * send control messages and audio, and await server messages by predicate.
 */
import WebSocket from 'ws';
import { floatToPcm16 } from '../audio/wav.js';
import type { ServerMessage } from '../protocol/messages.js';

export type Received = ServerMessage & { receivedAt: number };

export interface ClientOptions {
  /** Server base URL (`https://host:port/`). */
  url: string;
  token?: string;
  origin?: string;
}

export class ProtocolClient {
  readonly messages: Received[] = [];
  private waiters: Array<{ test: (m: Received) => boolean; resolve: (m: Received) => void }> = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const msg = { ...(JSON.parse(data.toString()) as ServerMessage), receivedAt: performance.now() } as Received;
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.test(msg)) return true;
        w.resolve(msg);
        return false;
      });
    });
    ws.on('close', (code) => {
      this.closeCode = code;
    });
  }

  /** Opens a connection (self-signed certificates accepted) and waits for `model_loaded`. */
  static async connect(opts: ClientOptions): Promise<ProtocolClient> {
    const base = new URL(opts.url);
    const wsUrl = `wss://${base.host}/ws${opts.token ? `?token=${encodeURIComponent(opts.token)}` : ''}`;
    const ws = new WebSocket(wsUrl, { rejectUnauthorized: false, origin: opts.origin, perMessageDeflate: false });
    const client = new ProtocolClient(ws);
    const loaded = client.next((m) => m.type === 'model_loaded', 60_000);
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
    await loaded;
    return client;
  }

  send(msg: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(msg));
  }

  sendAudio(pcm16: Buffer | Uint8Array): void {
    this.ws.send(pcm16, { binary: true });
  }

  /** Resolves with the first message (already received or future) matching `test`. */
  next(test: (m: Received) => boolean, timeoutMs = 120_000, fromIndex = 0): Promise<Received> {
    const seen = this.messages.slice(fromIndex).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a message (${timeoutMs} ms)`)), timeoutMs);
      this.waiters.push({
        test,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  /** Waits until the socket's send buffer has drained below `bytes`. */
  async drain(bytes = 1 << 20): Promise<void> {
    while (this.ws.bufferedAmount > bytes) await new Promise((r) => setTimeout(r, 5));
  }

  /**
   * Sends float audio as PCM16 frames of `frameSamples`; `realTime` paces them at 1× (or at
   * `speed`×, e.g. 8 for a fast file replay).
   */
  async streamAudio(
    samples: Float32Array,
    {
      frameSamples = 1600,
      realTime = false,
      speed = 1,
      onFrame,
    }: { frameSamples?: number; realTime?: boolean; speed?: number; onFrame?: (endSample: number, at: number) => void } = {},
  ): Promise<void> {
    const started = performance.now();
    for (let at = 0; at < samples.length; at += frameSamples) {
      const end = Math.min(samples.length, at + frameSamples);
      if (realTime) {
        const due = started + (end / 16_000 / speed) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      } else if (this.ws.bufferedAmount > 1 << 20) {
        await this.drain(1 << 19);
      }
      this.sendAudio(floatToPcm16(samples.subarray(at, end)));
      onFrame?.(end, performance.now());
    }
  }

  /** Registers one voice and resolves with the completion or failure message. */
  async enroll(speakerId: 0 | 1, samples: Float32Array, name?: string): Promise<Received> {
    const from = this.messages.length;
    this.send({ type: 'start_speaker_registration', speaker_id: speakerId, ...(name ? { name } : {}) });
    await this.next((m) => m.type === 'speaker_registration_started', 30_000, from);
    await this.streamAudio(samples);
    this.send({ type: 'complete_speaker_registration', speaker_id: speakerId });
    return this.next(
      (m) => (m.type === 'speaker_registration_completed' || m.type === 'speaker_registration_failed') && m.speaker_id === speakerId,
      60_000,
      from,
    );
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((r) => {
      this.ws.once('close', () => r());
      this.ws.close();
    });
  }
}
