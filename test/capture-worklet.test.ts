/**
 * The capture worklet in Node: the AudioWorklet globals are stood in for, the file itself is
 * run. At Stop the page asks it to flush, and the partial frame (the last < 100 ms) comes out.
 */
import { readFileSync } from 'node:fs';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { fromRoot } from '../src/paths.js';

interface Posted {
  pcm?: ArrayBuffer;
  rms?: number;
  flushed?: number;
}

function loadWorklet(rateHz: number) {
  const posted: Posted[] = [];
  let Processor: new () => { process(inputs: Float32Array[][]): boolean; port: { onmessage: ((ev: { data: unknown }) => void) | null } } = null!;
  class AudioWorkletProcessor {
    port = { onmessage: null as ((ev: { data: unknown }) => void) | null, postMessage: (m: Posted) => posted.push(m) };
  }
  runInNewContext(readFileSync(fromRoot('public/capture-worklet.js'), 'utf8'), {
    AudioWorkletProcessor,
    sampleRate: rateHz,
    registerProcessor: (_name: string, cls: typeof Processor) => (Processor = cls),
    Float32Array,
    Int16Array,
    Math,
  });
  return { node: new Processor(), posted };
}

describe('capture worklet', () => {
  it('posts full 100 ms frames, and the partial one on flush, before its acknowledgement', () => {
    const { node, posted } = loadWorklet(48_000);
    // 250 ms of a 440 Hz tone at 48 kHz in 128-sample render quanta.
    const total = 12_000;
    for (let at = 0; at < total; at += 128) {
      const q = new Float32Array(128).map((_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * (at + i)) / 48_000));
      node.process([[q]]);
    }
    const full = posted.filter((m) => m.pcm);
    expect(full.map((m) => m.pcm!.byteLength)).toEqual([3200, 3200]);
    node.port.onmessage!({ data: { flush: 7 } });
    const after = posted.slice(full.length);
    expect(after).toHaveLength(2);
    // What the filter could already produce of the last 50 ms (its delay holds back ~1.3 ms).
    const partialSamples = after[0]!.pcm!.byteLength / 2;
    expect(partialSamples).toBeGreaterThan(700);
    expect(partialSamples).toBeLessThan(800);
    expect(after[0]!.rms).toBeGreaterThan(0.3);
    expect(after[1]).toEqual({ flushed: 7 });
    // Nothing held: a second flush only acknowledges.
    node.port.onmessage!({ data: { flush: 8 } });
    expect(posted.slice(full.length + 2)).toEqual([{ flushed: 8 }]);
  });
});
