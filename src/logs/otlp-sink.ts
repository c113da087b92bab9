import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';

export interface OtlpOptions {
  /** The collector's OTLP/HTTP logs URL; a URL without a path gets `/v1/logs`. */
  endpoint: string;
  /** Extra request headers (e.g. an API key for a hosted collector). */
  headers?: Record<string, string>;
  /** `service.name` of the resource. */
  serviceName?: string;
  /** Most log records in one request. */
  batchRecords?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Attempts per batch before it is given up (and counted as dropped). */
  attempts?: number;
  /** Called with the number of lines given up. */
  onDrop?: (lines: number) => void;
  /**
   * Called for each request the collector did not accept (`reason`: `HTTP 503`, a network
   * error code, `timeout`), and once when one is accepted again after failures.
   */
  onExport?: (e: ExportOutcome) => void;
}

/** What one failed export, or the first success after failures, looked like. */
export interface ExportOutcome {
  ok: boolean;
  /** Why the request failed; empty when ok. */
  reason: string;
  /** Failed requests since the sink started. */
  failures: number;
}

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } }
  | { kvlistValue: { values: KeyValue[] } }
  | Record<string, never>;
interface KeyValue {
  key: string;
  value: AnyValue;
}
export interface OtlpLogRecord {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber?: number;
  severityText?: string;
  body: AnyValue;
  attributes: KeyValue[];
}

/** OTLP severity numbers (logs data model): the first of each range. */
const SEVERITY: Record<string, number> = { debug: 5, info: 9, warn: 13, error: 17 };

function anyValue(v: unknown): AnyValue {
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { boolValue: v };
    case 'number':
      return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
    case 'object':
      if (v === null) return {};
      if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
      return {
        kvlistValue: {
          values: Object.entries(v).map(([key, x]) => ({ key, value: anyValue(x) })),
        },
      };
    default:
      return {};
  }
}

/** One log line (JSON or not) as an OTLP log record; `time` and `msg` become its time and body. */
export function toLogRecord(line: string, observedNs: string): OtlpLogRecord {
  let rec: unknown;
  try {
    rec = JSON.parse(line);
  } catch {
    rec = undefined;
  }
  if (typeof rec !== 'object' || rec === null || Array.isArray(rec)) {
    return {
      timeUnixNano: observedNs,
      observedTimeUnixNano: observedNs,
      body: { stringValue: line },
      attributes: [],
    };
  }
  const r = rec as Record<string, unknown>;
  const ms = typeof r.time === 'string' ? Date.parse(r.time) : Number.NaN;
  const level = typeof r.level === 'string' ? r.level : undefined;
  const attributes: KeyValue[] = [];
  for (const k in r) {
    if (k === 'time' || k === 'level' || k === 'msg') continue;
    attributes.push({ key: k, value: anyValue(r[k]) });
  }
  return {
    timeUnixNano: Number.isNaN(ms) ? observedNs : (BigInt(ms) * 1_000_000n).toString(),
    observedTimeUnixNano: observedNs,
    ...(level ? { severityNumber: SEVERITY[level] ?? 0, severityText: level.toUpperCase() } : {}),
    body: { stringValue: String(r.msg ?? '') },
    attributes,
  };
}

/**
 * Ships log lines to an OpenTelemetry collector over OTLP/HTTP with JSON encoding
 * (`POST /v1/logs`, ExportLogsServiceRequest). Lines queue in the stream's buffer while a
 * request is in flight; the sink output bounds that queue. A failed batch is retried with
 * back-off on network errors, 429 and 5xx, then given up and counted.
 */
export class OtlpSink extends Writable {
  readonly #url: URL;
  readonly #opts: OtlpOptions;
  readonly #resource: { attributes: KeyValue[] };
  #failures = 0;
  #failing = false;

  constructor(opts: OtlpOptions) {
    super({ decodeStrings: false, highWaterMark: 256 * 1024 });
    const url = new URL(opts.endpoint);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/logs';
    this.#url = url;
    this.#opts = opts;
    this.#resource = {
      attributes: [{ key: 'service.name', value: { stringValue: opts.serviceName ?? 'pillion' } }],
    };
  }

  override _write(
    chunk: string | Buffer,
    _enc: BufferEncoding,
    cb: (err?: Error | null) => void,
  ): void {
    this._writev([{ chunk }], cb);
  }

  override _writev(chunks: { chunk: string | Buffer }[], cb: (err?: Error | null) => void): void {
    const observed = (BigInt(Date.now()) * 1_000_000n).toString();
    const records: OtlpLogRecord[] = [];
    for (const { chunk } of chunks) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        if (nl > start) records.push(toLogRecord(text.slice(start, nl), observed));
        start = nl + 1;
      }
      if (start < text.length) records.push(toLogRecord(text.slice(start), observed));
    }
    this.#sendAll(records).then(() => cb(), cb);
  }

  async #sendAll(records: OtlpLogRecord[]): Promise<void> {
    const size = this.#opts.batchRecords ?? 1000;
    for (let i = 0; i < records.length; i += size) {
      const batch = records.slice(i, i + size);
      if (!(await this.#send(batch))) this.#opts.onDrop?.(batch.length);
    }
  }

  /** True once the collector accepted the batch; false when it was given up. */
  async #send(batch: OtlpLogRecord[]): Promise<boolean> {
    const body = JSON.stringify({
      resourceLogs: [
        {
          resource: this.#resource,
          scopeLogs: [{ scope: { name: 'pillion' }, logRecords: batch }],
        },
      ],
    });
    const attempts = this.#opts.attempts ?? 3;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
      const { status, reason } = await this.#post(body);
      if (status >= 200 && status < 300) {
        if (this.#failing) {
          this.#failing = false;
          this.#opts.onExport?.({ ok: true, reason: '', failures: this.#failures });
        }
        return true;
      }
      // Said at each failure, not only when a batch is given up: a collector that is down
      // would otherwise go unnoticed until Pillion exits (the caller throttles).
      this.#failures += 1;
      this.#failing = true;
      this.#opts.onExport?.({ ok: false, reason, failures: this.#failures });
      // A request the collector refuses for what it is will be refused again.
      if (status >= 400 && status < 500 && status !== 429 && status !== 408) return false;
    }
    return false;
  }

  /** The response status, or 0 for a network error or timeout, with a reason for failures. */
  #post(body: string): Promise<{ status: number; reason: string }> {
    const url = this.#url;
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = request(url, {
        method: 'POST',
        headers: {
          ...this.#opts.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        timeout: this.#opts.timeoutMs ?? 10_000,
      });
      req.on('response', (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        res.on('end', () => resolve({ status, reason: `HTTP ${status}` }));
        res.on('error', () => resolve({ status: 0, reason: 'response cut off' }));
      });
      let timedOut = false;
      req.on('timeout', () => {
        timedOut = true;
        req.destroy();
      });
      req.on('error', (err: NodeJS.ErrnoException) =>
        resolve({ status: 0, reason: timedOut ? 'timeout' : (err.code ?? err.message) }),
      );
      req.end(body);
    });
  }

  /** Sends what is queued, then ends. */
  close(): Promise<void> {
    if (this.writableFinished || this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.once('finish', resolve);
      this.once('error', () => resolve());
      this.end();
    });
  }
}
