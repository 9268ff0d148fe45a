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
    for (const x of s) {
      b.admit(x);
      b.secured(x);
    }
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
    for (let i = 0; i < 50; i++) {
      const x = sock();
      b.admit(x);
      b.secured(x);
    }
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

  it('counts a connection still in its handshake against the cap only, and drops handshakes after slow-header ones', () => {
    const b = new ConnectionBudget({ maxPending: 2, maxTotal: 4 });
    const slow = sock();
    b.admit(slow);
    b.secured(slow);
    const shaking = Array.from({ length: 3 }, sock);
    for (const x of shaking) b.admit(x);
    expect(b.pendingSize).toBe(1);
    expect(b.size).toBe(4);
    const next = sock();
    b.admit(next);
    // The slow-header connection goes first, then the oldest handshake.
    expect(slow.destroyed).toBe(true);
    expect(shaking.some((x) => x.destroyed)).toBe(false);
    b.admit(sock());
    expect(shaking[0]!.destroyed).toBe(true);
    expect(b.size).toBe(4);
  });

  it('drops connections still sending headers before one whose request is being answered', () => {
    const b = new ConnectionBudget({ maxPending: 2, maxTotal: 100 });
    const page = sock();
    b.admit(page);
    b.secured(page);
    b.requestStarted(page);
    const flood = Array.from({ length: 5 }, sock);
    for (const x of flood) {
      b.admit(x);
      b.secured(x);
    }
    expect(page.destroyed).toBe(false);
    expect(flood.filter((x) => x.destroyed)).toHaveLength(4);
    b.answered(page);
    const late = sock();
    b.admit(late);
    b.secured(late);
    expect(page.destroyed).toBe(true);
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
