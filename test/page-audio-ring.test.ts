/** The page's resume buffer (public/audio-ring.js): bounded, loss counted, resent from `resume_from`. */
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain ES module of the page, no types
import { AudioRing } from '../public/audio-ring.js';

/** A 100 ms frame whose samples are their own positions (mod 32768), so pieces can be checked. */
function frame(at: number): ArrayBuffer {
  const pcm = new Int16Array(1600);
  for (let i = 0; i < pcm.length; i++) pcm[i] = (at + i) % 32768;
  return pcm.buffer;
}

function collect(ring: InstanceType<typeof AudioRing>): Int16Array[] {
  const out: Int16Array[] = [];
  ring.drain((buf: ArrayBuffer) => {
    out.push(new Int16Array(buf));
    return true;
  });
  return out;
}

describe('AudioRing', () => {
  it('sends each frame once while live', () => {
    const ring = new AudioRing(2);
    ring.push(frame(0));
    expect(collect(ring).map((p) => p[0])).toEqual([0]);
    ring.push(frame(1600));
    ring.push(frame(3200));
    expect(collect(ring).map((p) => p[0])).toEqual([1600, 3200]);
    expect(collect(ring)).toEqual([]);
  });

  it('resends from resume_from, cutting the first frame at the exact sample', () => {
    const ring = new AudioRing(10);
    for (let i = 0; i < 10; i++) ring.push(frame(i * 1600));
    collect(ring); // all sent, then the connection drops; the server kept only 0.55 s
    for (let i = 10; i < 15; i++) ring.push(frame(i * 1600));
    expect(ring.rewindTo(8800)).toBe(0);
    const pieces = collect(ring);
    expect(pieces[0][0]).toBe(8800);
    expect(pieces.reduce((n, p) => n + p.length, 0)).toBe(15 * 1600 - 8800);
    expect(ring.lostS).toBe(0);
  });

  it('drops the oldest audio beyond its bound and reports what was never sent', () => {
    const ring = new AudioRing(1); // 10 frames
    ring.push(frame(0));
    collect(ring);
    // Offline: 14 more frames; the 5 oldest go, frame 0 was sent, frames 1–4 never were.
    for (let i = 1; i < 15; i++) ring.push(frame(i * 1600));
    expect(ring.samples).toBe(16000);
    expect(ring.lostS).toBeCloseTo(0.4, 5);
    // The server has 0.1 s; the ring starts at 0.5 s: 0.4 s of gap is reported for silence.
    expect(ring.rewindTo(1600)).toBe(5 * 1600 - 1600);
    expect(collect(ring)[0][0]).toBe(5 * 1600);
  });
});
