import { describe, expect, it } from 'vitest';
import { RetryingSender, type AttemptResult } from './retrying.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await wait(10);
  }
}

describe('RetryingSender', () => {
  it('retries with growing waits until an attempt succeeds', async () => {
    const times: number[] = [];
    const answers: AttemptResult[] = [
      { ok: false, retry: true, status: 500, error: 'the receiver answered 500' },
      { ok: false, retry: true, error: 'ECONNREFUSED' },
      { ok: true, status: 200 },
    ];
    const s = new RetryingSender<string>({ what: 'test', retryForMs: 60_000, baseDelayMs: 40, attempt: async () => (times.push(Date.now()), answers.shift()!) });
    s.add('c1', 'x');
    await until(() => s.status(true, null).delivered_total === 1);
    const st = s.status(true, null);
    expect(st.recent[0]).toMatchObject({ conversation_id: 'c1', outcome: 'delivered', attempts: 3, last_status: 200, last_error: null, next_attempt_at: null });
    expect(st.pending).toBe(0);
    // The second wait is about twice the first (jitter takes off at most a quarter).
    expect(times[2]! - times[1]!).toBeGreaterThan(times[1]! - times[0]!);
    s.close();
  });

  it('stops at a permanent failure, and gives up when the time budget is spent', async () => {
    let calls = 0;
    const s = new RetryingSender<string>({ what: 'test', retryForMs: 150, baseDelayMs: 40, attempt: async (p) => (calls++, p === 'redirect' ? { ok: false, retry: false, status: 302, error: 'redirect' } : { ok: false, retry: true, status: 503, error: 'down' }) });
    s.add('a', 'redirect');
    s.add('b', 'down');
    await until(() => s.status(true, null).failed_total === 2);
    const [b, a] = s.status(true, null).recent;
    expect(a).toMatchObject({ conversation_id: 'a', outcome: 'failed', attempts: 1, last_status: 302 });
    expect(b).toMatchObject({ conversation_id: 'b', outcome: 'failed', last_status: 503 });
    expect(b!.attempts).toBeGreaterThan(1);
    expect(b!.last_error).toMatch(/^gave up after \d+ attempts/);
    expect(calls).toBe(1 + b!.attempts);
    s.close();
  });

  it('bounds what waits and what it remembers, and never lets an attempt that throws escape', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const s = new RetryingSender<number>({ what: 'test', retryForMs: 1000, maxPending: 3, concurrency: 1, keepRecent: 5, attempt: async (n) => {
      await gate;
      if (n === 0) throw new Error('boom');
      return { ok: true };
    } });
    for (let i = 0; i < 8; i++) s.add(`c${i}`, i);
    expect(s.pending).toBeLessThanOrEqual(3 + 1);
    release();
    s.close();
    const st = s.status(true, null);
    expect(st.recent).toHaveLength(5);
    expect(st.failed_total).toBeGreaterThanOrEqual(4);
  });
});
