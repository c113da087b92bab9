// The charts' columns from the cumulative figures of /api/v1/stats: rates and CPU shares are
// differences between consecutive samples, so a poll that is late changes no figure.
import type { ProcessFigures, Stats, StatusClass } from './api-types.ts';

export const CLASSES: readonly StatusClass[] = ['2xx', '3xx', '4xx', '5xx'];

/** Columns in uPlot's layout: x (unix seconds) first, then one array per series. */
export type Columns = [number[], ...(number | null)[][]];

export interface ChartColumns {
  /** Requests per second by status class, in CLASSES order. */
  requests: Columns;
  /** Latency percentiles p50, p90, p99 in milliseconds. */
  latency: Columns;
  /** CPU use of the app's process tree and of Pillion, in percent of one core. */
  cpu: Columns;
  /** Resident memory of the app's process tree and of Pillion, in bytes. */
  memory: Columns;
  /** Open client connections and HTTP/2 streams. */
  connections: Columns;
}

/** A rate between two readings of a counter; null when it went down (a restart reset it). */
export function rate(prev: number | undefined, next: number | undefined, seconds: number) {
  if (prev === undefined || next === undefined || !(seconds > 0) || next < prev) return null;
  return (next - prev) / seconds;
}

function cpuShare(a: ProcessFigures | null, b: ProcessFigures | null, seconds: number) {
  const r = rate(a?.cpu_seconds, b?.cpu_seconds, seconds);
  return r === null ? null : r * 100;
}

const ms = (s: number | null | undefined): number | null =>
  typeof s === 'number' && Number.isFinite(s) ? s * 1000 : null;

/** The last `capacity` samples of /api/v1/stats, oldest first. */
export class History {
  readonly #capacity: number;
  #samples: Stats[] = [];

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Adds a sample; one not newer than the last (a repeated poll) is ignored. */
  push(s: Stats): void {
    const last = this.#samples.at(-1);
    if (last && s.time_ms <= last.time_ms) return;
    this.#samples.push(s);
    if (this.#samples.length > this.#capacity) this.#samples.shift();
  }

  get size(): number {
    return this.#samples.length;
  }

  latest(): Stats | undefined {
    return this.#samples.at(-1);
  }

  /** Requests per second over the last interval, or null before two samples. */
  currentRate(): number | null {
    const [a, b] = this.#samples.slice(-2);
    if (!a || !b) return null;
    return rate(a.requests.total, b.requests.total, (b.time_ms - a.time_ms) / 1000);
  }

  columns(): ChartColumns {
    const x: number[] = [];
    const byClass = CLASSES.map(() => [] as (number | null)[]);
    const p = [[], [], []] as (number | null)[][];
    const cpu = [[], []] as (number | null)[][];
    const mem = [[], []] as (number | null)[][];
    const conns = [[], []] as (number | null)[][];
    this.#samples.forEach((s, i) => {
      const prev = this.#samples[i - 1];
      const dt = prev ? (s.time_ms - prev.time_ms) / 1000 : 0;
      x.push(s.time_ms / 1000);
      CLASSES.forEach((c, k) => {
        byClass[k].push(
          prev
            ? rate(prev.requests.by_status_class[c] ?? 0, s.requests.by_status_class[c] ?? 0, dt)
            : null,
        );
      });
      const l = s.requests.latency_seconds;
      p[0].push(ms(l?.p50));
      p[1].push(ms(l?.p90));
      p[2].push(ms(l?.p99));
      cpu[0].push(prev ? cpuShare(prev.process.app, s.process.app, dt) : null);
      cpu[1].push(prev ? cpuShare(prev.process.pillion, s.process.pillion, dt) : null);
      mem[0].push(s.process.app?.rss_bytes ?? null);
      mem[1].push(s.process.pillion?.rss_bytes ?? null);
      conns[0].push(s.requests.active_connections ?? null);
      conns[1].push(s.requests.active_streams ?? null);
    });
    return {
      requests: [x, ...byClass],
      latency: [x, ...p],
      cpu: [x, ...cpu],
      memory: [x, ...mem],
      connections: [x, ...conns],
    };
  }
}
