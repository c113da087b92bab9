// OTLP/HTTP JSON export, written by hand (no OpenTelemetry SDK): one span per proxied request
// to `/v1/traces`, and the metrics to `/v1/metrics` at an interval. Imported only when
// `telemetry.endpoint` is set; batches are bounded and a full queue drops, counted.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Concern } from '../core/concern.ts';
import type { Logger } from '../core/log.ts';
import { families, type Snapshot } from './exposition.ts';
import { HISTOGRAMS } from './histograms.ts';

/** What a span is made of: the access record of a request that carries a trace. */
export interface SpanRecord {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  protocol: string;
  error?: string;
  trace?:
    | { traceId: string; spanId: string; parentSpanId: string | undefined; header?: string }
    | undefined;
}

export interface OtlpExportOptions {
  /** The collector's base URL: `/v1/traces` and `/v1/metrics` are added. */
  endpoint: string;
  serviceName: string;
  traces: boolean;
  /** 0: no metrics export. */
  metricsIntervalMs: number;
  /** The metrics, read at each export. */
  snapshot: () => Promise<Snapshot>;
  log: Logger;
}

type Attr = { key: string; value: { stringValue: string } | { intValue: string } };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Attr[];
  status: { code: number; message?: string };
}

/** Spans held for the next request, at most; past it, new spans are dropped (counted). */
const MAX_QUEUE = 4096;
const BATCH = 512;
const FLUSH_MS = 1000;
const TIMEOUT_MS = 10_000;
/** OTLP SpanKind SERVER; StatusCode UNSET and ERROR. */
const KIND_SERVER = 2;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;

const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): Attr => ({ key, value: { intValue: String(v) } });

export class OtlpExporter implements Concern {
  readonly name = 'otlp';
  readonly #o: OtlpExportOptions;
  #queue: OtlpSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #metricsTimer: NodeJS.Timeout | undefined;
  #sending: Promise<void> = Promise.resolve();
  readonly #start = Date.now();
  /** Spans exported, dropped (queue full or refused), and failed requests, for the logs. */
  readonly counts = { spans: 0, dropped: 0, failures: 0, metricExports: 0 };

  constructor(o: OtlpExportOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    const o = this.#o;
    if (o.traces) {
      this.#timer = setInterval(() => this.#flush(), FLUSH_MS);
      this.#timer.unref();
    }
    if (o.metricsIntervalMs > 0) {
      this.#metricsTimer = setInterval(() => void this.exportMetrics(), o.metricsIntervalMs);
      this.#metricsTimer.unref();
    }
    o.log.info('OTLP export on', {
      endpoint: o.endpoint,
      traces: o.traces,
      metrics_interval_ms: o.metricsIntervalMs,
    });
  }

  async stop(deadline: AbortSignal): Promise<void> {
    clearInterval(this.#timer);
    clearInterval(this.#metricsTimer);
    this.#flush();
    const gaveUp = new Promise<void>((resolve) => {
      if (deadline.aborted) resolve();
      deadline.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([this.#sending, gaveUp]);
  }

  /** One finished request; a span when it carries a sampled trace. Called on the data path. */
  span(r: SpanRecord): void {
    const t = r.trace;
    if (t === undefined || !this.#o.traces) return;
    // The sampled flag (bit 0 of the flags, W3C §3.2.2.5): a trace the client did not sample is not exported.
    if (t.header !== undefined && (Number.parseInt(t.header.slice(-2), 16) & 1) === 0) return;
    if (this.#queue.length >= MAX_QUEUE) {
      this.counts.dropped++;
      return;
    }
    const end = BigInt(Date.now()) * 1_000_000n;
    const start = end - BigInt(Math.round(r.durationMs * 1e6));
    const code = r.error === undefined ? undefined : r.error.split(':')[0];
    const q = r.path.indexOf('?');
    const attributes = [
      str('http.request.method', r.method),
      // The path without its query: a query may hold a secret.
      str('url.path', q === -1 ? r.path : r.path.slice(0, q)),
      int('http.response.status_code', r.status),
      str('network.protocol.version', r.protocol.replace('HTTP/', '')),
      // What the edge did: forwarded to the app, or answered by Pillion with this code.
      str('pillion.edge.decision', code ?? 'forwarded'),
    ];
    if (code === undefined) attributes.push(int('pillion.app.status_code', r.status));
    this.#queue.push({
      traceId: t.traceId,
      spanId: t.spanId,
      ...(t.parentSpanId ? { parentSpanId: t.parentSpanId } : {}),
      name: r.method,
      kind: KIND_SERVER,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(end),
      attributes,
      status:
        r.status >= 500
          ? { code: STATUS_ERROR, message: code ?? `HTTP ${r.status}` }
          : { code: STATUS_UNSET },
    });
    if (this.#queue.length >= BATCH) this.#flush();
  }

  #flush(): void {
    if (this.#queue.length === 0) return;
    const spans = this.#queue;
    this.#queue = [];
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [str('service.name', this.#o.serviceName)] },
          scopeSpans: [{ scope: { name: 'pillion' }, spans }],
        },
      ],
    });
    this.#sending = this.#sending.then(async () => {
      if (await this.#post('/v1/traces', body)) this.counts.spans += spans.length;
      else this.counts.dropped += spans.length;
    });
  }

  /** Sends the metrics now (also what the interval does). */
  exportMetrics(): Promise<void> {
    const run = this.#sending.then(async () => {
      const snap = await this.#o.snapshot();
      if (await this.#post('/v1/metrics', JSON.stringify(this.#metricsBody(snap))))
        this.counts.metricExports++;
    });
    this.#sending = run.catch(() => {});
    return run;
  }

  #metricsBody(snap: Snapshot): unknown {
    const now = String(BigInt(Date.now()) * 1_000_000n);
    const start = String(BigInt(this.#start) * 1_000_000n);
    const attrs = (labels: Record<string, string>): Attr[] =>
      Object.entries(labels).map(([k, v]) => str(k, v));
    const metrics: unknown[] = families(snap).map((f) => {
      const dataPoints = f.values.map(([labels, v]) => ({
        attributes: attrs(labels),
        ...(f.type === 'counter' ? { startTimeUnixNano: start } : {}),
        timeUnixNano: now,
        asDouble: v,
      }));
      return f.type === 'counter'
        ? {
            name: f.name,
            description: f.help,
            // Cumulative, monotonic: as Prometheus counters are.
            sum: { dataPoints, aggregationTemporality: 2, isMonotonic: true },
          }
        : { name: f.name, description: f.help, gauge: { dataPoints } };
    });
    for (const h of HISTOGRAMS)
      metrics.push({
        name: h.name,
        description: h.help,
        unit: 's',
        histogram: {
          aggregationTemporality: 2,
          dataPoints: h.series(snap).map((x) => ({
            attributes: attrs(x.labels),
            startTimeUnixNano: start,
            timeUnixNano: now,
            count: String(x.counts.reduce((a, b) => a + b, 0)),
            sum: x.sumS,
            bucketCounts: x.counts.map(String),
            explicitBounds: [...x.boundsS],
          })),
        },
      });
    return {
      resourceMetrics: [
        {
          resource: { attributes: [str('service.name', this.#o.serviceName)] },
          scopeMetrics: [{ scope: { name: 'pillion' }, metrics }],
        },
      ],
    };
  }

  /** POSTs one JSON body; true when the collector took it (2xx). Never throws. */
  #post(path: string, body: string): Promise<boolean> {
    // The base URL, or a signal's URL given as the base: the signal's path replaces it.
    const base = this.#o.endpoint.replace(/\/+$/, '').replace(/\/v1\/(traces|metrics|logs)$/, '');
    const url = new URL(`${base}${path}`);
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: TIMEOUT_MS,
      });
      req.on('response', (res) => {
        res.resume();
        const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
        if (!ok) this.#failed(`HTTP ${res.statusCode}`, path);
        resolve(ok);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        this.#failed(err.code ?? err.message, path);
        resolve(false);
      });
      req.end(body);
    });
  }

  #failed(reason: string, path: string): void {
    this.counts.failures++;
    // The first failure and every hundredth: a collector that is down is said, not flooded.
    if (this.counts.failures % 100 === 1)
      this.#o.log.warn('OTLP export failed', { path, reason, failures: this.counts.failures });
  }
}
