/**
 * What the server says about its own health: `GET /healthz` (no token: only `ok` or
 * `degraded`) and `GET /api/status` (token: each part's state and why). The report is a set
 * of named sections, each from a probe registered by the part that knows it, so a new part
 * (notification delivery, say) adds its section with one `register` call and nothing else
 * changes. A probe that throws or hangs yields a section saying so; the report never fails.
 */

/** One part's state. `ok: false` makes the whole server `degraded`. */
export interface StatusSection {
  ok: boolean;
  [field: string]: unknown;
}

/** Reads one part's state; may be async (a disk check). */
export type StatusProbe = () => StatusSection | Promise<StatusSection>;

/** The body of `GET /api/status`. */
export interface StatusReport {
  /** `ok` when every section is ok, else `degraded`. */
  status: 'ok' | 'degraded';
  /** Seconds since the server started. */
  uptimeS: number;
  /** The sections by name, in the order they were registered. */
  [section: string]: unknown;
}

/** A probe that has not answered after this long is reported as hung, ms. */
export const PROBE_TIMEOUT_MS = 2000;

/** `/healthz` answers from a report at most this old, ms. */
export const HEALTH_CACHE_MS = 1000;

/** The registered probes and the report they make. */
export class StatusBoard {
  private readonly probes = new Map<string, StatusProbe>();
  private readonly startedAtMs: number;
  private lastHealth: { atMs: number; report: Promise<StatusReport> } | null = null;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAtMs = now();
  }

  /** Adds a section; a second probe under the same name is a programming error. */
  register(name: string, probe: StatusProbe): void {
    if (name === 'status' || name === 'uptimeS' || this.probes.has(name)) throw new Error(`status section ${name} is already registered`);
    this.probes.set(name, probe);
  }

  /** Runs every probe (at once, each bounded by PROBE_TIMEOUT_MS) and assembles the report. */
  async report(): Promise<StatusReport> {
    const names = [...this.probes.keys()];
    const sections = await Promise.all(names.map((n) => runProbe(this.probes.get(n)!)));
    const report: StatusReport = {
      status: sections.every((s) => s.ok) ? 'ok' : 'degraded',
      uptimeS: Math.round((this.now() - this.startedAtMs) / 1000),
    };
    names.forEach((n, i) => (report[n] = sections[i]));
    return report;
  }

  /**
   * `ok` or `degraded`: all that `/healthz` tells a caller without the token. Reuses a report
   * younger than HEALTH_CACHE_MS, so an unauthenticated caller cannot make the probes run
   * more often than that.
   */
  async health(): Promise<'ok' | 'degraded'> {
    const now = this.now();
    if (!this.lastHealth || now - this.lastHealth.atMs >= HEALTH_CACHE_MS) this.lastHealth = { atMs: now, report: this.report() };
    return (await this.lastHealth.report).status;
  }
}

async function runProbe(probe: StatusProbe): Promise<StatusSection> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<StatusSection>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, state: 'error', reason: 'probe_timeout' }), PROBE_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([Promise.resolve().then(probe), hung]);
  } catch {
    return { ok: false, state: 'error', reason: 'probe_failed' };
  } finally {
    clearTimeout(timer);
  }
}
