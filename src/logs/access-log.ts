import type { IncomingHttpHeaders } from 'node:http';
import {
  type AccessField,
  DEFAULT_ACCESS_FIELDS,
  REFUSED_PATH_CHARS,
} from '../core/access-fields.ts';

export { REFUSED_PATH_CHARS };

import { ErrorCode } from '../core/errors.ts';
import type { LogOutput } from '../core/log.ts';
import { cut, redactHeaders, redactQuery } from './redact.ts';

/** What ingress knows about one finished request. */
export interface AccessEntry {
  /** `egress-access` for a request the app sent out through the egress port; absent: `access` (ingress). */
  source?: 'egress-access';
  method: string;
  path: string;
  status: number;
  /** A gRPC call's status (from the app's trailers, or Pillion's own); absent for non-gRPC. */
  grpcStatus?: number;
  durationMs: number;
  /** Time the request waited for the app to be ready (first start, a restart); absent if none. */
  heldMs?: number;
  bytes: number;
  protocol: string;
  remote: string;
  requestId: string;
  error?: string;
  /** Egress only: the service the app named (also on a 404 for a name that is not configured). */
  service?: string;
  /** Egress only: `host:port` of the endpoint that answered, or of the last one tried. */
  upstream?: string;
  /** Egress only: attempts sent to endpoints, retries included (0: none was sent). */
  attempts?: number;
  /** The request's headers, by reference; read only when a format needs them. */
  headers?: IncomingHttpHeaders;
  /** Pillion's span of the request, with W3C trace context on (metrics/trace-context.ts). */
  trace?:
    | { traceId: string; spanId: string; parentSpanId: string | undefined; header?: string }
    | undefined;
  /** A WebSocket tunnel's end (ingress/ws-tunnel.ts TunnelEnd), for its span; not logged. */
  tunnel?: AccessTunnel | undefined;
}

/** How a WebSocket tunnel ended: bytes from the client, and the close codes each side sent. */
export interface AccessTunnel {
  bytesIn: number;
  clientCloseCode: number | undefined;
  appCloseCode: number | undefined;
  pillionCloseCode: number | undefined;
  closedBy: 'client' | 'app' | 'pillion';
}

export type AccessLog = (entry: AccessEntry) => void;

/** `json` lines (fields chosen by `fields`), or the Common / Combined Log Format. */
export type AccessFormat = 'json' | 'common' | 'combined';

export interface AccessLogOptions {
  /** False: no access lines at all (the writer is a no-op). */
  enabled: boolean;
  format: AccessFormat;
  /** JSON fields, in order; see core/access-fields.ts. */
  fields: readonly string[];
  /** Query parameters whose values are logged as [REDACTED], besides the secret-looking ones. */
  redactQuery: readonly string[];
  /** Longest path logged whole; a longer one is cut with a marker. */
  maxPath: number;
  /** The data-path worker (1..N) writing these lines, when `ingress.workers` > 1. */
  worker?: number;
}

export const ACCESS_LOG_DEFAULTS: AccessLogOptions = {
  enabled: true,
  format: 'json',
  fields: DEFAULT_ACCESS_FIELDS,
  redactQuery: [],
  maxPath: 1024,
};

/**
 * gRPC statuses that mean the server side failed, logged at level `error` like a 5xx: UNKNOWN,
 * DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS (the codes gRPC's HTTP
 * mapping gives 5xx answers, and the ones a service did not choose to return).
 */
const GRPC_SERVER_FAULTS = new Set([2, 4, 12, 13, 14, 15]);

/** The `error` of a request Pillion ended at the drain deadline (core/errors.ts DRAIN_TIMEOUT). */
const DRAIN_CUT = ErrorCode.DRAIN_TIMEOUT;

/** A field's value as JSON text; undefined leaves the field out. */
type JsonFn = (e: AccessEntry, path: string) => string | undefined;

/** A field whose value is written through jsonValue (the client's and the app's text). */
function json(value: (e: AccessEntry, path: string) => unknown): JsonFn {
  return (e, path) => {
    const v = value(e, path);
    return v === undefined ? undefined : jsonValue(v);
  };
}

/** Cut at the drain deadline: Pillion's own doing on a stop, not a fault of the app. */
function levelOf(e: AccessEntry): 'warn' | 'error' | 'info' {
  return e.error === DRAIN_CUT
    ? 'warn'
    : e.status >= 500 || (e.grpcStatus !== undefined && GRPC_SERVER_FAULTS.has(e.grpcStatus))
      ? 'error'
      : 'info';
}

const PID_JSON = `${process.pid}`;
const LEVEL_JSON = { warn: '"warn"', error: '"error"', info: '"info"' } as const;
const numberText = (n: number): string => (Number.isFinite(n) ? `${n}` : 'null');

/**
 * Each field as JSON text. Pillion's own text and numbers are written directly, with no test
 * for escapes, and the path is tested once for `path` and `msg`; the others (the client's and
 * the app's text among them) go through jsonValue.
 */
const FIELDS: Record<AccessField, JsonFn> = {
  time: () => `"${isoNow()}"`,
  level: (e) => LEVEL_JSON[levelOf(e)],
  source: (e) => (e.source === undefined ? '"access"' : `"${e.source}"`),
  pid: () => PID_JSON,
  msg: (e, path) => {
    const m = `${e.method} ${path} ${e.status}`;
    return plainPath(path) && !NEEDS_ESCAPE.test(e.method) ? `"${m}"` : JSON.stringify(m);
  },
  method: json((e) => e.method),
  path: (_e, path) => (plainPath(path) ? `"${path}"` : JSON.stringify(path)),
  status: (e) => numberText(e.status),
  grpc_status: json((e) => e.grpcStatus),
  duration_ms: (e) => millisText(e.durationMs),
  held_ms: json((e) => (e.heldMs === undefined ? undefined : Math.round(e.heldMs * 1000) / 1000)),
  bytes: (e) => numberText(e.bytes),
  protocol: json((e) => e.protocol),
  remote: json((e) => e.remote),
  request_id: json((e) => e.requestId),
  error: json((e) => e.error),
  service: json((e) => e.service),
  upstream: json((e) => e.upstream),
  attempts: json((e) => e.attempts),
  referer: json((e) => redactUrl(header(e, 'referer'))),
  user_agent: json((e) => header(e, 'user-agent')),
  headers: json((e) => (e.headers ? redactHeaders(e.headers) : undefined)),
  // Set per writer in createAccessLog; absent (left out) with one worker.
  worker: () => undefined,
};

/** A request Pillion answered itself with a 4xx: its target is the client's bytes, untrusted. */
function refused(e: AccessEntry): boolean {
  return e.status >= 400 && e.status < 500 && e.error?.startsWith('PILLION_') === true;
}

/**
 * What is logged of a refused request's target: its path's first characters, never its query
 * (the client's bytes, whose names need not look secret), with markers where text was left out.
 */
function refusedTarget(target: string, max: number): string {
  const q = target.indexOf('?');
  const path = cut(q === -1 ? target : target.slice(0, q), Math.min(max, REFUSED_PATH_CHARS));
  return q === -1 ? path : `${path}?[query not logged]`;
}

/** A URL header (Referer) with its secret query values redacted and cut like a path. */
function redactUrl(v: string | undefined): string | undefined {
  return v === undefined ? v : cut(redactQuery(v, NO_NAMES), ACCESS_LOG_DEFAULTS.maxPath);
}
const NO_NAMES: ReadonlySet<string> = new Set();

// The time field is formatted once a second and the milliseconds appended: toISOString per
// line was ~10% of Pillion's CPU for a 12-byte response with the access line on (bench/proxy.ts).
let isoSecond = -1;
let isoPrefix = '';
function isoNow(): string {
  const now = Date.now();
  const sec = Math.floor(now / 1000);
  if (sec !== isoSecond) {
    isoSecond = sec;
    isoPrefix = new Date(sec * 1000).toISOString().slice(0, 20);
  }
  const ms = now - sec * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/**
 * `ms` rounded to the microsecond, as JSON: the text `${Math.round(ms * 1000) / 1000}` gives,
 * made from integers (number-to-text conversions were ~1% of Pillion's CPU for a 12-byte
 * response, by perf, the double the most of them). Whole below 10^15 µs (31 years); beyond,
 * and for negatives, the double's own form.
 */
export function millisText(ms: number): string {
  const us = Math.round(ms * 1000);
  if (!(us >= 0 && us < 1e15)) return jsonValue(us / 1000);
  const frac = us % 1000;
  const whole = (us - frac) / 1000;
  if (frac === 0) return `${whole}`;
  if (frac % 100 === 0) return `${whole}.${frac / 100}`;
  if (frac % 10 === 0) return `${whole}.${frac < 100 ? '0' : ''}${frac / 10}`;
  return `${whole}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}`;
}

/** The last path tested for escapes, with the answer: `path` and `msg` carry the same one. */
let testedPath = '';
let pathPlain = true;
function plainPath(path: string): boolean {
  if (path !== testedPath) {
    testedPath = path;
    pathPlain = !NEEDS_ESCAPE.test(path);
  }
  return pathPlain;
}

function header(e: AccessEntry, name: string): string | undefined {
  const v = e.headers?.[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * One line per request on `out`: JSON with the chosen fields (absent values left out), or a
 * Common/Combined Log Format line. Secrets never appear: configured query parameters are
 * redacted in the path, and Authorization, Cookie and Set-Cookie in logged headers.
 */
export function createAccessLog(
  out: LogOutput,
  options: Partial<AccessLogOptions> = {},
): AccessLog {
  const o: AccessLogOptions = { ...ACCESS_LOG_DEFAULTS, ...options };
  for (const f of o.fields) {
    if (!(f in FIELDS)) throw new RangeError(`unknown access log field '${f}'`);
  }
  if (!o.enabled) return () => {};
  const names = new Set(o.redactQuery);
  const max = o.maxPath;
  // Redacted before it is cut, so a cut never leaves part of a secret value behind.
  const pathOf = (e: AccessEntry): string =>
    refused(e) ? refusedTarget(e.path, max) : cut(redactQuery(e.path, names), max);
  if (o.format !== 'json') {
    const combined = o.format === 'combined';
    return (e) => {
      let line = `${e.remote || '-'} - - [${clfTime(new Date())}] "${clfEscape(`${e.method} ${pathOf(e)} ${e.protocol}`)}" ${e.status} ${e.bytes > 0 ? e.bytes : '-'}`;
      if (combined)
        line += ` "${clfEscape(redactUrl(header(e, 'referer')) ?? '-')}" "${clfEscape(header(e, 'user-agent') ?? '-')}"`;
      out.write(`${line}\n`);
    };
  }
  const worker = o.worker;
  // Without workers the field is dropped here, so one process formats exactly as before.
  const chosen = o.fields.filter((f) => f !== 'worker' || worker !== undefined);
  const workerJson = `${worker}`;
  const fns: JsonFn[] = chosen.map((f) =>
    f === 'worker' ? () => workerJson : FIELDS[f as keyof typeof FIELDS],
  );
  // Each key with its quotes and colon, made once: the line is built as one string, with no
  // object per request (a record object and JSON.stringify were ~4% of Pillion's CPU for a
  // 12-byte response, most of it in keyed stores of a fresh object).
  const keys = chosen.map((f, i) => `${i === 0 ? '' : ','}${JSON.stringify(f)}:`);
  const first = keys.map((k) => (k.startsWith(',') ? k.slice(1) : k));
  return (e) => {
    const path = pathOf(e);
    let line = '{';
    for (let i = 0; i < fns.length; i++) {
      const v = (fns[i] as JsonFn)(e, path);
      if (v === undefined) continue;
      line += (line.length === 1 ? first[i] : keys[i]) + v;
    }
    out.write(`${line}}\n`);
  };
}

/** Characters a JSON string must escape, and surrogates (JSON.stringify escapes lone ones). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A field's value as JSON, as JSON.stringify writes it, with plain strings quoted directly. */
function jsonValue(v: unknown): string {
  if (typeof v === 'string') return NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`;
  if (typeof v === 'number') return Number.isFinite(v) ? `${v}` : 'null';
  return JSON.stringify(v) ?? 'null';
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number): string => String(n).padStart(2, '0');

/** `26/Nov/2026:10:53:54 +0000`: the CLF time, in UTC. */
export function clfTime(d: Date): string {
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
}

/** Quotes, backslashes and control characters escaped, so a field cannot break the line. */
function clfEscape(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
  return s.replace(/["\\\x00-\x1f\x7f]/g, (c) =>
    c === '"' || c === '\\' ? `\\${c}` : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}
