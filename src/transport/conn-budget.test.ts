import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ConnectionBudget } from './conn-budget.js';

class FakeSocket extends EventEmitter {
  destroyed = false;
  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}
const sock = () => new FakeSocket() as unknown as Socket & FakeSocket;

describe('ConnectionBudget', () => {
  it('drops the oldest unproven connection for a newcomer when the pool is full', () => {
    const evictions: string[] = [];
    const b = new ConnectionBudget({ maxPending: 3, maxTotal: 100, onEvict: (r) => evictions.push(r) });
    const s = Array.from({ length: 5 }, sock);
    for (const x of s) b.admit(x);
    expect(s.map((x) => x.destroyed)).toEqual([true, true, false, false, false]);
    expect(b.pendingSize).toBe(3);
    expect(b.evicted).toBe(2);
    expect(evictions).toEqual(['pending_full', 'pending_full']);
  });

  it('keeps signed-in connections out of the pool, found through their TLS socket', () => {
    const b = new ConnectionBudget({ maxPending: 2, maxTotal: 100 });
    const owner = sock();
    b.admit(owner);
    const tlsOfOwner = Object.assign(new EventEmitter(), { _parent: owner }) as unknown as Socket;
    b.promote(tlsOfOwner);
    expect(b.isPending(owner)).toBe(false);
    for (let i = 0; i < 50; i++) b.admit(sock());
    expect(owner.destroyed).toBe(false);
    expect(b.pendingSize).toBe(2);
    expect(b.size).toBe(3);
  });

  it('keeps the overall cap: unproven ones make way; with only signed-in ones left the newcomer is refused', () => {
    const b = new ConnectionBudget({ maxPending: 10, maxTotal: 3 });
    const a = sock();
    const c = sock();
    b.admit(a);
    b.admit(c);
    b.promote(a);
    b.promote(c);
    const p = sock();
    b.admit(p);
    const q = sock();
    b.admit(q);
    expect(p.destroyed).toBe(true);
    expect(q.destroyed).toBe(false);
    b.promote(q);
    const r = sock();
    b.admit(r);
    expect(r.destroyed).toBe(true);
    expect([a, c, q].every((x) => !x.destroyed)).toBe(true);
    expect(b.size).toBe(3);
  });

  it('forgets closed connections', () => {
    const b = new ConnectionBudget({ maxPending: 2, maxTotal: 2 });
    const a = sock();
    b.admit(a);
    a.destroy();
    expect(b.size).toBe(0);
    expect(b.pendingSize).toBe(0);
  });
});
