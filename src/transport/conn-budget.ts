/**
 * The connection budget: connections that have not yet proved who they are (no request with a
 * valid token or cookie yet) share a bounded pool of their own; when it is full, the oldest
 * of them is dropped to make room for the newcomer. Connections that signed in leave the pool
 * and count only against the overall cap. So a flood of slow or idle connections, even from
 * one address (behind the SSH tunnel every client is 127.0.0.1), holds at most the pool: the
 * owner's new connection always gets in, and is the last the flood would push out.
 *
 * The overall cap (MAX_CONNECTIONS) is enforced here too, not by Node's `maxConnections`,
 * which refuses the newcomer: here the oldest unproven connection makes way for it, and a
 * newcomer is refused only when every open connection has signed in.
 */
import type { Socket } from 'node:net';

export interface ConnectionBudgetOptions {
  /** Unproven connections held at most (PENDING_CONNECTIONS). */
  maxPending: number;
  /** All connections held at most (MAX_CONNECTIONS). */
  maxTotal: number;
  /** Told of each connection dropped to make room (for a rate-limited log line). */
  onEvict?: (reason: 'pending_full' | 'total_full') => void;
}

/** The transport socket under a TLS socket (what the server's 'connection' event saw). */
function rawOf(socket: Socket): Socket {
  return ((socket as unknown as { _parent?: Socket })._parent ?? socket) as Socket;
}

export class ConnectionBudget {
  /** Connections still in their TLS handshake, oldest first (a Set iterates in insertion order). */
  private readonly handshaking = new Set<Socket>();
  /** Unproven connections past their handshake, oldest first. */
  private readonly pending = new Set<Socket>();
  private readonly all = new Set<Socket>();
  /** Unproven connections whose request is being answered (headers complete): dropped last. */
  private readonly serving = new Set<Socket>();
  private evictedCount = 0;

  constructor(private readonly opts: ConnectionBudgetOptions) {}

  /** Unproven connections now held (past their handshake). */
  get pendingSize(): number {
    return this.pending.size;
  }

  /** All connections now held. */
  get size(): number {
    return this.all.size;
  }

  /** Connections dropped to make room since start. */
  get evicted(): number {
    return this.evictedCount;
  }

  /**
   * A new TCP connection (the server's 'connection' event). It joins the pool when its TLS
   * handshake completes ({@link secured}): a connection's request follows its handshake at
   * once, so the owner's connection is judged on its request, not pushed out while a flood
   * keeps the server busy with handshakes. Until then it counts against the overall cap only
   * (and the handshake timeout bounds it).
   */
  admit(socket: Socket): void {
    this.all.add(socket);
    this.handshaking.add(socket);
    socket.once('close', () => {
      this.all.delete(socket);
      this.handshaking.delete(socket);
      this.pending.delete(socket);
      this.serving.delete(socket);
    });
    while (this.all.size > this.opts.maxTotal) {
      // Unproven connections past their handshake go first (slow headers), then the oldest handshakes.
      const oldest = this.oldestPending() ?? (this.handshaking.values().next().value as Socket | undefined);
      if (oldest === undefined) break;
      this.drop(oldest, 'total_full');
      // Only signed-in connections are left besides the newcomer: it is refused.
      if (oldest === socket) break;
    }
  }

  /** The connection's TLS handshake completed (`socket` may be the TLS socket): it joins the pool. */
  secured(socket: Socket): void {
    const raw = rawOf(socket);
    if (!this.handshaking.delete(raw)) return;
    this.pending.add(raw);
    while (this.pending.size > this.opts.maxPending) {
      const oldest = this.oldestPending();
      if (oldest === undefined) break;
      this.drop(oldest, 'pending_full');
    }
  }

  /**
   * An unproven connection's request headers are complete and it is being answered (a page
   * load without a cookie): it is dropped only after every connection still sending headers,
   * which is what a slow-header flood is made of. Call {@link answered} when the answer is sent.
   */
  requestStarted(socket: Socket): void {
    const raw = rawOf(socket);
    if (this.pending.has(raw)) this.serving.add(raw);
  }

  /** The answer to an unproven connection's request was sent. */
  answered(socket: Socket): void {
    this.serving.delete(rawOf(socket));
  }

  /**
   * The connection carrying this request proved who it is: it leaves the pool. `socket` may
   * be the TLS socket of a request; the transport socket under it is found.
   */
  promote(socket: Socket): void {
    const raw = rawOf(socket);
    this.pending.delete(raw);
    this.handshaking.delete(raw);
    this.serving.delete(raw);
  }

  /** Whether the connection is still unproven (tests). */
  isPending(socket: Socket): boolean {
    const raw = rawOf(socket);
    return this.pending.has(raw) || this.handshaking.has(raw);
  }

  /** The oldest unproven connection not being answered, else the oldest unproven one. */
  private oldestPending(): Socket | undefined {
    for (const s of this.pending) if (!this.serving.has(s)) return s;
    return this.pending.values().next().value as Socket | undefined;
  }

  private drop(socket: Socket, reason: 'pending_full' | 'total_full'): void {
    this.pending.delete(socket);
    this.serving.delete(socket);
    this.handshaking.delete(socket);
    this.all.delete(socket);
    this.evictedCount++;
    socket.destroy();
    this.opts.onEvict?.(reason);
  }
}
