// OTLP/HTTP JSON export, written by hand (no OpenTelemetry SDK): one span per request Pillion
// answered (or WebSocket tunnel) to `/v1/traces`, and the metrics to `/v1/metrics` at an
// interval. Imported only when `telemetry.endpoint` is set (in the primary and in each worker);
// batches are bounded and a full queue drops, counted.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { REFUSED_PATH_CHARS } from '../core/access-fields.ts';
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
  /** A WebSocket tunnel's end (ingress/ws-tunnel.ts TunnelEnd): the span lasts until it closed. */
  tunnel?:
    | {
        bytesIn: number;
        clientCloseCode: number | undefined;
        appCloseCode: number | undefined;
        pillionCloseCode: number | undefined;
        closedBy: 'client' | 'app' | 'pillion';
      }
    | undefined;
  /** Response bytes (to the client, for a tunnel). */
  bytes?: number;
}

export interface OtlpExportOptions {
  /** The collector's base URL: `/v1/traces` and `/v1/metrics` are added. */
  endpoint: string;
  serviceName: string;
  traces: boolean;
  /** 0: no metrics export. */
  metricsIntervalMs: number;
  /** The metrics, read at each export (not needed with `metricsIntervalMs` 0). */
  snapshot?: () => Promise<Snapshot>;
  /** Resource attributes besides `service.name` (a worker's number). */
  resource?: Record<string, string>;
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
const MAX_SENDS = 2;
const TIMEOUT_MS = 10_000;
/** OTLP SpanKind SERVER; StatusCode UNSET and ERROR. */
const KIND_SERVER = 2;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;

const str = (key: string, v: string): Attr => ({ key, value: { stringValue: v } });
const int = (key: string, v: number): Attr => ({ key, value: { intValue: String(v) } });

/** The attributes and status of a request's span. */
function spanContent(r: SpanRecord): { attributes: Attr[]; status: OtlpSpan['status'] } {
  const code = r.error === undefined ? undefined : r.error.split(':')[0];
  // Refused by Pillion with a 4xx: the method and target are the client's bytes, untrusted.
  const refused = r.status >= 400 && r.status < 500 && code?.startsWith('PILLION_') === true;
  const q = r.path.indexOf('?');
  // The path without its query: a query may hold a secret.
  let path = q === -1 ? r.path : r.path.slice(0, q);
  if (refused && path.length > REFUSED_PATH_CHARS)
    path = `${path.slice(0, REFUSED_PATH_CHARS)}...[cut ${path.length - REFUSED_PATH_CHARS} chars]`;
  const attributes = [str('http.request.method', r.method === '-' ? '_OTHER' : r.method)];
  if (path !== '-') attributes.push(str('url.path', path));
  attributes.push(
    int('http.response.status_code', r.status),
    str('network.protocol.version', r.protocol.replace('HTTP/', '')),
    // What the edge did: forwarded to the app, or answered by Pillion with this code.
    str('pillion.edge.decision', code ?? 'forwarded'),
  );
  if (code === undefined) attributes.push(int('pillion.app.status_code', r.status));
  // error.type is low in cardinality (OTel semconv): Pillion's code, else the status code.
  let error: { type: string; message: string } | undefined =
    refused || r.status >= 500
      ? { type: code ?? String(r.status), message: code ?? `HTTP ${r.status}` }
      : undefined;
  const w = r.tunnel;
  if (w !== undefined) {
    attributes.push(
      str('pillion.websocket.closed_by', w.closedBy),
      int('pillion.websocket.bytes_from_client', w.bytesIn),
      int('pillion.websocket.bytes_to_client', r.bytes ?? 0),
    );
    if (w.clientCloseCode !== undefined)
      attributes.push(int('pillion.websocket.client_close_code', w.clientCloseCode));
    if (w.appCloseCode !== undefined)
      attributes.push(int('pillion.websocket.app_close_code', w.appCloseCode));
    if (w.pillionCloseCode !== undefined)
      attributes.push(int('pillion.websocket.pillion_close_code', w.pillionCloseCode));
    // Pillion's code on a tunnel: it ended the tunnel itself (1009 over the caps).
    error ??= code !== undefined ? { type: code, message: code } : tunnelError(w);
  }
  if (error === undefined) return { attributes, status: { code: STATUS_UNSET } };
  attributes.push(str('error.type', error.type));
  return { attributes, status: { code: STATUS_ERROR, message: error.message } };
}

/**
 * A tunnel that ended on the app's side in error: a close code of a server-side failure
 * (RFC 6455 §7.4.1, IANA registry: 1011 internal error … 1014 bad gateway), or an app that
 * dropped the connection with no close frame (1006, abnormal closure). A client's code is the
 * client's affair, as a 4xx is.
 */
function tunnelError(
  w: NonNullable<SpanRecord['tunnel']>,
): { type: string; message: string } | undefined {
  const c = w.appCloseCode;
  if (c !== undefined && c >= 1011 && c <= 1014)
    return { type: String(c), message: `the app closed the WebSocket with ${c}` };
  if (w.closedBy === 'app' && c === undefined)
    return { type: '1006', message: 'the app ended the WebSocket without a close frame (1006)' };
  return undefined;
}

export class OtlpExporter implements Concern {
  readonly name = 'otlp';
  readonly #o: OtlpExportOptions;
  readonly #resource: Attr[];
  #queue: OtlpSpan[] = [];
  #timer: NodeJS.Timeout | undefined;
  #metricsTimer: NodeJS.Timeout | undefined;
  #sending: Promise<void> = Promise.resolve();
  /** Span batches posted or waiting to be. */
  #sends = 0;
  readonly #start = Date.now();
  /** Spans exported, dropped (queue full or refused), and failed requests, for the logs. */
  readonly counts = { spans: 0, dropped: 0, failures: 0, metricExports: 0 };

  constructor(o: OtlpExportOptions) {
    this.#o = o;
    this.#resource = [
      str('service.name', o.serviceName),
      ...Object.entries(o.resource ?? {}).map(([k, v]) => str(k, v)),
    ];
  }

  async start(): Promise<void> {
    const o = this.#o;
    if (o.traces) {
      this.#timer = setInterval(() => this.#flush(), FLUSH_MS);
      this.#timer.unref();
    }
    if (o.metricsIntervalMs > 0 && o.snapshot) {
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
    this.#flush(true);
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
    const { attributes, status } = spanContent(r);
    this.#queue.push({
      traceId: t.traceId,
      spanId: t.spanId,
      ...(t.parentSpanId ? { parentSpanId: t.parentSpanId } : {}),
      // A method the parser never read (a refused head) is named as OTel's semconv asks.
      name: r.method === '-' ? 'HTTP' : r.method,
      kind: KIND_SERVER,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(end),
      attributes,
      status,
    });
    if (this.#queue.length >= BATCH) this.#flush();
  }

  /**
   * Sends what is queued. While MAX_SENDS batches are on their way, spans wait in the queue
   * (bounded by MAX_QUEUE) rather than in ever more batches: a flood of refused requests and a
   * slow collector hold at most MAX_QUEUE spans queued and MAX_SENDS batches in memory.
   */
  #flush(force = false): void {
    if (this.#queue.length === 0 || (!force && this.#sends >= MAX_SENDS)) return;
    const spans = this.#queue;
    this.#queue = [];
    this.#sends++;
    const body = JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: this.#resource },
          scopeSpans: [{ scope: { name: 'pillion' }, spans }],
        },
      ],
    });
    this.#sending = this.#sending.then(async () => {
      if (await this.#post('/v1/traces', body)) this.counts.spans += spans.length;
      else this.counts.dropped += spans.length;
      this.#sends--;
    });
  }

  /** Sends the metrics now (also what the interval does). */
  exportMetrics(): Promise<void> {
    const run = this.#sending.then(async () => {
      const read = this.#o.snapshot;
      if (!read) return;
      const snap = await read();
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
          resource: { attributes: this.#resource },
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
