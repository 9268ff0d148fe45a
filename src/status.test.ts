import { describe, expect, it, vi } from 'vitest';
import { HEALTH_CACHE_MS, PROBE_TIMEOUT_MS, StatusBoard } from './status.js';

describe('StatusBoard', () => {
  it('is ok when every section is, in registration order, with the uptime', async () => {
    let now = 1_000_000;
    const board = new StatusBoard(() => now);
    board.register('b', () => ({ ok: true, x: 1 }));
    board.register('a', async () => ({ ok: true, y: 'z' }));
    now += 12_400;
    const r = await board.report();
    expect(r).toEqual({ status: 'ok', uptimeS: 12, b: { ok: true, x: 1 }, a: { ok: true, y: 'z' } });
    expect(Object.keys(r)).toEqual(['status', 'uptimeS', 'b', 'a']);
  });

  it('refuses a name twice, or a field of the report itself', () => {
    const board = new StatusBoard();
    board.register('engine', () => ({ ok: true }));
    expect(() => board.register('engine', () => ({ ok: true }))).toThrow(/already registered/);
    expect(() => board.register('status', () => ({ ok: true }))).toThrow(/already registered/);
  });

  it('a section that fails, throws or hangs makes it degraded, without its error', async () => {
    vi.useFakeTimers();
    try {
      const board = new StatusBoard();
      board.register('fine', () => ({ ok: true }));
      board.register('bad', () => ({ ok: false, state: 'missing' }));
      board.register('throws', () => {
        throw new Error('private detail');
      });
      board.register('rejects', () => Promise.reject(new Error('private detail')));
      board.register('hangs', () => new Promise(() => undefined));
      const pending = board.report();
      await vi.advanceTimersByTimeAsync(PROBE_TIMEOUT_MS + 1);
      const r = await pending;
      expect(r.status).toBe('degraded');
      expect(r.bad).toEqual({ ok: false, state: 'missing' });
      expect(r.throws).toEqual({ ok: false, state: 'error', reason: 'probe_failed' });
      expect(r.rejects).toEqual({ ok: false, state: 'error', reason: 'probe_failed' });
      expect(r.hangs).toEqual({ ok: false, state: 'error', reason: 'probe_timeout' });
      expect(JSON.stringify(r)).not.toContain('private detail');
    } finally {
      vi.useRealTimers();
    }
  });

  it('health() runs the probes at most once per HEALTH_CACHE_MS', async () => {
    let now = 0;
    let calls = 0;
    let ok = true;
    const board = new StatusBoard(() => now);
    board.register('x', () => (calls++, { ok }));
    expect(await board.health()).toBe('ok');
    ok = false;
    expect(await board.health()).toBe('ok');
    expect(calls).toBe(1);
    now += HEALTH_CACHE_MS;
    expect(await board.health()).toBe('degraded');
    expect(calls).toBe(2);
  });
});
