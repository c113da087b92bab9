// The request counters the data path feeds, one call per finished request: plain integers in
// arrays of a fixed shape, so the hot path does a few index computations and additions and
// nothing else (no label hashing, no allocation). The exposition reads them at scrape time.

/** What the metrics take from one finished request (the access record has these fields). */
export interface RequestRecord {
  method: string;
  status: number;
  protocol: string;
  durationMs: number;
  bytes: number;
  /** Pillion's error code when Pillion answered or cut the request itself. */
  error?: string;
}

export const PROTOCOLS = ['HTTP/1.1', 'HTTP/2', 'HTTP/1.0', 'other'] as const;
export const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'other',
] as const;
/** Index 0 is a status outside 100-599 (0: no status was sent). */
export const STATUS_CLASSES = ['other', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;
/** Latency buckets in seconds: fine below 100 ms, where a proxy's requests mostly fall. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
] as const;

const P = PROTOCOLS.length;
const M = METHODS.length;
const C = STATUS_CLASSES.length;
const METHOD_INDEX: Record<string, number> = Object.create(null);
for (let i = 0; i < M - 1; i++) METHOD_INDEX[METHODS[i]] = i;
const PROTOCOL_INDEX: Record<string, number> = Object.create(null);
for (let i = 0; i < P - 1; i++) PROTOCOL_INDEX[PROTOCOLS[i]] = i;
/** Millisecond bounds, so the hot path compares without dividing. */
const BOUNDS_MS = LATENCY_BUCKETS.map((s) => s * 1000);

/** Error codes are a closed set, but a count keyed by one stays bounded even if that changes. */
const MAX_CODES = 64;

/** The counters as plain data, to send from a worker process and sum in the primary. */
export interface CountersData {
  requests: number[];
  latency: number[];
  latencySumMs: number[];
  responseBytes: number;
  errors: Record<string, number>;
  held: number;
}

export class RequestCounters {
  /** Requests by [protocol][method][status class], flattened. */
  readonly requests: number[] = new Array(P * M * C).fill(0);
  /** Latency by bucket (non-cumulative; the last slot is +Inf), by protocol. */
  readonly latency: number[] = new Array(P * (BOUNDS_MS.length + 1)).fill(0);
  readonly latencySumMs: number[] = new Array(P).fill(0);
  /** Response bytes sent to clients. */
  responseBytes = 0;
  /** Requests Pillion answered or cut itself, by error code: 4xx at the edge, 5xx from the proxy. */
  readonly errors = new Map<string, number>();
  /** Requests that waited for the app to become ready (a start or a restart). */
  held = 0;

  /** One finished request. Called on the data path: keep it free of allocation. */
  observe(r: RequestRecord): void {
    const p = PROTOCOL_INDEX[r.protocol] ?? P - 1;
    const m = METHOD_INDEX[r.method] ?? M - 1;
    const s = r.status;
    const c = s >= 100 && s < 600 ? (s / 100) | 0 : 0;
    this.requests[(p * M + m) * C + c]++;
    const ms = r.durationMs;
    let b = 0;
    while (b < BOUNDS_MS.length && ms > BOUNDS_MS[b]) b++;
    this.latency[p * (BOUNDS_MS.length + 1) + b]++;
    this.latencySumMs[p] += ms;
    this.responseBytes += r.bytes;
    if (r.error !== undefined) this.#error(r.error);
  }

  /** The error field is `CODE` or `CODE: detail`: only the code is a label. */
  #error(error: string): void {
    const colon = error.indexOf(':');
    const code = colon === -1 ? error : error.slice(0, colon);
    const n = this.errors.get(code);
    if (n !== undefined) this.errors.set(code, n + 1);
    else if (this.errors.size < MAX_CODES) this.errors.set(code, 1);
    else this.errors.set('other', (this.errors.get('other') ?? 0) + 1);
  }

  /** A copy of the counters as plain data. */
  data(): CountersData {
    return {
      requests: [...this.requests],
      latency: [...this.latency],
      latencySumMs: [...this.latencySumMs],
      responseBytes: this.responseBytes,
      errors: Object.fromEntries(this.errors),
      held: this.held,
    };
  }

  /** Adds another process's counters to these (arrays of another shape are left out). */
  add(d: CountersData): void {
    if (d.requests.length !== this.requests.length || d.latency.length !== this.latency.length)
      return;
    for (let i = 0; i < d.requests.length; i++) this.requests[i] += d.requests[i];
    for (let i = 0; i < d.latency.length; i++) this.latency[i] += d.latency[i];
    for (let i = 0; i < d.latencySumMs.length; i++) this.latencySumMs[i] += d.latencySumMs[i];
    this.responseBytes += d.responseBytes;
    this.held += d.held;
    for (const [code, n] of Object.entries(d.errors))
      this.errors.set(code, (this.errors.get(code) ?? 0) + n);
  }

  /** Requests so far, by status class ("1xx".."5xx"), and their total. */
  byStatusClass(): { total: number; classes: Record<string, number> } {
    const classes: Record<string, number> = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    let total = 0;
    for (let i = 0; i < this.requests.length; i++) {
      const n = this.requests[i];
      total += n;
      const c = STATUS_CLASSES[i % C];
      if (c !== 'other') classes[c] += n;
    }
    return { total, classes };
  }

  /** Latency counts by bucket over every protocol (non-cumulative, +Inf last). */
  latencyBuckets(): number[] {
    const n = BOUNDS_MS.length + 1;
    const out = new Array(n).fill(0);
    for (let i = 0; i < this.latency.length; i++) out[i % n] += this.latency[i];
    return out;
  }
}

/**
 * The q-quantile (0..1) of a bucketed distribution, interpolated within its bucket as
 * Prometheus's histogram_quantile does; 0 with no samples. The +Inf bucket answers its lower bound.
 */
export function quantile(q: number, counts: readonly number[]): number {
  let total = 0;
  for (const n of counts) total += n;
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    if (seen + counts[b] >= rank && counts[b] > 0) {
      if (b >= LATENCY_BUCKETS.length) return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1];
      const lo = b === 0 ? 0 : LATENCY_BUCKETS[b - 1];
      const hi = LATENCY_BUCKETS[b];
      return lo + (hi - lo) * ((rank - seen) / counts[b]);
    }
    seen += counts[b];
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1];
}
