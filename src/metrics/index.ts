// Metrics owns the figures: request counters fed by the data path, process figures of the app
// and of Pillion from /proc, and their exposition (/metrics) and snapshot (/api/v1/stats). What
// is counted elsewhere (connections, log lines, reloads) is read through functions it is given.
import type { Concern } from '../core/concern.ts';
import type { EgressFigures, TlsFigures } from './egress-tls.ts';
import {
  type AppFigures,
  type ConnectionFigures,
  Exposition,
  type LogFigures,
  type Snapshot,
} from './exposition.ts';
import { NO_FIGURES, type ProcessFigures, readTree } from './proc.ts';
import { type CountersData, quantile, RequestCounters, type RequestRecord } from './requests.ts';

export type { EgressFigures, TlsFigures } from './egress-tls.ts';
export type { AppFigures, ConnectionFigures, LogFigures } from './exposition.ts';
export type { ProcessFigures } from './proc.ts';
export type { CountersData, RequestRecord } from './requests.ts';
export { RequestCounters } from './requests.ts';

/** A serving certificate, as the TLS side knows it. */
export interface CertificateInfo {
  name: string;
  notAfter: Date | string | number;
}

/** Where the figures not counted here come from; each is read at scrape time only. */
export interface MetricsSources {
  connections?: () => ConnectionFigures;
  logs?: () => LogFigures;
  reloads?: () => { applied: number; rejected: number };
  certificates?: () => readonly CertificateInfo[];
  app?: () => AppFigures;
  /** The egress port's counters, by service. */
  egress?: () => Record<string, EgressFigures>;
  /** The TLS terminator's counters; undefined when it runs in other processes (workers). */
  tls?: () => TlsFigures | undefined;
  /** The app's main process (a child, or in attach mode the one holding its port). */
  appPid?: () => number | undefined;
  /**
   * Counters kept in other processes (the data-path workers), added to this process's own;
   * their connection figures replace `connections`.
   */
  remote?: () => Promise<{ requests: CountersData[]; connections: ConnectionFigures }>;
}

/** The snapshot /api/v1/stats answers with (names as the JSON API spells them). */
export interface Stats {
  time_ms: number;
  process: { app: ProcessJson; pillion: ProcessJson };
  requests: {
    total: number;
    by_status_class: Record<string, number>;
    active_connections: number;
    active_streams: number;
    latency_seconds: { p50: number; p90: number; p99: number };
  };
}

export interface ProcessJson {
  cpu_seconds: number;
  rss_bytes: number;
  fds: number;
  threads: number;
  processes: number;
}

/** /proc is read at most this often; a second scrape within it reuses the figures. */
const PROCESS_CACHE_MS = 500;
/** Latency percentiles cover about the last minute: six windows of ten seconds. */
const WINDOW_MS = 10_000;
const WINDOWS = 6;

const NO_CONNECTIONS: ConnectionFigures = {
  open: 0,
  streams: 0,
  tlsHandshakes: 0,
  tlsFailures: {},
  bytesReceived: 0,
  bytesSent: 0,
  rejected: {},
};

export class Metrics implements Concern {
  readonly name = 'metrics';
  /** The data path's counters; `record` is what it calls per request. */
  readonly requests = new RequestCounters();
  /** One finished request (bound, so it can be handed on as a plain function). */
  readonly record: (r: RequestRecord) => void;
  readonly #sources: MetricsSources;
  readonly #exposition = new Exposition();
  #proc: { at: number; app: ProcessFigures | undefined; pillion: ProcessFigures } | undefined;
  /** Latency bucket counts at the start of each recent window, oldest first. */
  readonly #windows: { at: number; counts: number[] }[] = [];

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    const requests = this.requests;
    this.record = (r) => requests.observe(r);
  }

  async start(): Promise<void> {}
  async stop(_deadline: AbortSignal): Promise<void> {}

  /** The app's tree and Pillion's own processes (the app's tree left out), from /proc. */
  processes(now = performance.now()): { app: ProcessFigures | undefined; pillion: ProcessFigures } {
    const cached = this.#proc;
    if (cached && now - cached.at < PROCESS_CACHE_MS) return cached;
    const pid = this.#sources.appPid?.();
    const app = pid === undefined ? undefined : readTree(pid);
    const pillion = readTree(process.pid, pid === undefined ? undefined : new Set([pid]));
    this.#proc = { at: now, app, pillion };
    return this.#proc;
  }

  /** The request counters and connection figures of every process of the data path. */
  async #counted(): Promise<{ requests: RequestCounters; connections: ConnectionFigures }> {
    const s = this.#sources;
    if (!s.remote)
      return { requests: this.requests, connections: s.connections?.() ?? NO_CONNECTIONS };
    const remote = await s.remote();
    const sum = new RequestCounters();
    sum.add(this.requests.data());
    for (const d of remote.requests) sum.add(d);
    return { requests: sum, connections: remote.connections };
  }

  /** Everything /metrics shows, read now. */
  async snapshot(): Promise<Snapshot> {
    const s = this.#sources;
    const now = Date.now();
    const { requests, connections } = await this.#counted();
    return {
      requests,
      connections,
      logs: s.logs?.() ?? { lines: {}, dropped: {}, droppedApp: {} },
      reloads: s.reloads?.() ?? { applied: 0, rejected: 0 },
      certificates: (s.certificates?.() ?? []).map((c) => ({
        name: c.name,
        expiresInS: Math.round((new Date(c.notAfter).getTime() - now) / 1000),
      })),
      app: s.app?.() ?? { ready: false, restarts: 0, uptimeS: 0, lastExit: undefined },
      process: this.processes(),
      egress: s.egress?.() ?? {},
      tls: s.tls?.(),
    };
  }

  /** The /metrics body: OpenMetrics when `accept` asks for it, else Prometheus text 0.0.4. */
  async render(accept: string | undefined): Promise<{ type: string; body: string }> {
    return this.#exposition.render(await this.snapshot(), wantsOpenMetrics(accept));
  }

  /** The /api/v1/stats snapshot: cumulative counts (a chart computes rates), recent percentiles. */
  async stats(): Promise<Stats> {
    const now = performance.now();
    const { requests, connections: c } = await this.#counted();
    const { total, classes } = requests.byStatusClass();
    const counts = requests.latencyBuckets();
    const last = this.#windows.at(-1);
    if (!last || now - last.at >= WINDOW_MS) {
      this.#windows.push({ at: now, counts });
      if (this.#windows.length > WINDOWS) this.#windows.shift();
    }
    const base = this.#windows[0].counts;
    const recent = counts.map((n, i) => n - base[i]);
    // Until a window has passed, the percentiles are those of every request so far.
    const dist = recent.some((n) => n > 0) ? recent : counts;
    const p = this.processes();
    return {
      time_ms: Date.now(),
      process: { app: processJson(p.app ?? NO_FIGURES), pillion: processJson(p.pillion) },
      requests: {
        total,
        by_status_class: classes,
        active_connections: c.open,
        active_streams: c.streams,
        latency_seconds: {
          p50: round6(quantile(0.5, dist)),
          p90: round6(quantile(0.9, dist)),
          p99: round6(quantile(0.99, dist)),
        },
      },
    };
  }
}

function processJson(p: ProcessFigures): ProcessJson {
  return {
    cpu_seconds: p.cpuSeconds,
    rss_bytes: p.rssBytes,
    fds: p.fds,
    threads: p.threads,
    processes: p.processes,
  };
}

/** True when the Accept header names OpenMetrics (what Prometheus sends when it prefers it). */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept);
}

/** Seconds to the microsecond: the buckets' interpolation gives no more. */
function round6(s: number): number {
  return Math.round(s * 1e6) / 1e6;
}
