// One request from the app to a service: routed by path (`/<service>/…`) or Host, sent to an
// endpoint, retried when safe, and answered with the service's response or Pillion's own.
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { ErrorCode } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { connectionTokens, downstreamHeaders, isHopByHop } from '../http/headers.ts';
import { requestIdOf, traceparentOf } from '../http/trace.ts';
import type { AccessLog } from '../logs/access-log.ts';
import type { Endpoint } from './endpoint.ts';
import {
  backoffMs,
  type Failure,
  failureOf,
  isConnectTimeout,
  isIdempotent,
  reasonOf,
  retryAfterMs,
} from './retry.ts';
import type { Service } from './service.ts';

/** A request body up to this size is kept, so the request can be sent again; a larger one is streamed once. */
export const REPLAY_BYTES = 1024 * 1024;

/** Fields not passed on: they are about the hop from the app, or set by Pillion here. */
const NOT_FORWARDED = new Set([
  'host',
  'x-request-id',
  'traceparent',
  'expect',
  'proxy-authorization',
]);

export interface ForwardDeps {
  services(): ReadonlyMap<string, Service>;
  accessLog: AccessLog;
  log: Logger;
}

/** What the app's request resolved to. */
interface Route {
  service: Service;
  path: string;
}

/** Pillion's own answer, with the code that says why (docs/errors.md). */
function answer(
  res: ServerResponse,
  status: number,
  code: string,
  text: string,
  extra?: Record<string, string>,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-pillion-error': code,
    ...extra,
  });
  res.end(body);
}

/** The service a request names: its Host, else the first path segment. */
export function routeOf(
  url: string,
  host: string | undefined,
  services: ReadonlyMap<string, Service>,
): Route | string {
  const byHost = host?.replace(/:\d+$/, '').toLowerCase();
  const svc = byHost === undefined ? undefined : services.get(byHost);
  if (svc) return { service: svc, path: url };
  const m = /^\/([^/?#]*)(.*)$/.exec(url) as RegExpExecArray;
  const named = services.get(m[1] as string);
  if (!named) return m[1] as string;
  const rest = m[2] as string;
  return { service: named, path: rest.startsWith('/') ? rest : `/${rest}` };
}

/** The fields sent to the service: hop-by-hop ones dropped, the request id and trace set. */
function upstreamFields(
  h: IncomingHttpHeaders,
  requestId: string,
): Record<string, string | string[]> {
  const listed = connectionTokens(h.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in h) {
    if (isHopByHop(name) || NOT_FORWARDED.has(name) || listed?.has(name)) continue;
    out[name] = h[name] as string | string[];
  }
  out['x-request-id'] = requestId;
  out.traceparent = traceparentOf(h);
  return out;
}

/** The app's body: kept whole up to REPLAY_BYTES (replayable), else streamed on as it comes. */
async function bodyOf(req: IncomingMessage): Promise<{ bytes?: Buffer; stream?: Readable }> {
  const len = req.headers['content-length'];
  if (len === undefined && req.headers['transfer-encoding'] === undefined) return {};
  if (len !== undefined && Number(len) > REPLAY_BYTES) return { stream: req };
  const chunks: Buffer[] = [];
  let size = 0;
  const it = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  for (;;) {
    const r = await it.next();
    if (r.done) return { bytes: Buffer.concat(chunks, size) };
    chunks.push(r.value);
    size += r.value.length;
    if (size > REPLAY_BYTES) {
      const rest = { [Symbol.asyncIterator]: () => it };
      return {
        stream: Readable.from(
          (async function* () {
            yield* chunks;
            yield* rest;
          })(),
        ),
      };
    }
  }
}

type Outcome =
  | { kind: 'response'; res: Dispatcher.ResponseData }
  | { kind: 'failed'; failure: Failure; err: unknown };

/** Handles one request from the app. */
export async function forward(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ForwardDeps,
): Promise<void> {
  const started = performance.now();
  const method = req.method as string;
  const url = req.url as string;
  const requestId = requestIdOf(req.headers);
  let status = 0;
  let bytes = 0;
  let error: string | undefined;
  let logPath = url;
  let service: Service | undefined;
  // The log's `service`, `upstream` (host:port of the endpoint that answered, or of the last
  // one tried) and `attempts` (sent to endpoints, retries included).
  let named: string | undefined;
  let upstream: string | undefined;
  let attempts = 0;
  const done = (): void => {
    const ms = performance.now() - started;
    service?.observe(ms, status);
    deps.accessLog({
      source: 'egress-access',
      method,
      path: logPath,
      status,
      durationMs: ms,
      bytes,
      protocol: `HTTP/${req.httpVersion}`,
      remote: req.socket.remoteAddress ?? '',
      requestId,
      ...(error ? { error } : {}),
      ...(named === undefined ? {} : { service: named }),
      ...(upstream === undefined ? {} : { upstream }),
      attempts,
    });
  };
  const fail = (
    s: number,
    code: string,
    text: string,
    extra?: Record<string, string>,
  ): undefined => {
    status = s;
    error ??= code;
    answer(res, s, code, text, extra);
    done();
    return undefined;
  };
  if (!url.startsWith('/')) {
    // Absolute-form or `*`: this port is not a forward proxy; nothing is sent on.
    req.resume();
    return fail(
      400,
      ErrorCode.REQUEST_INVALID,
      'Bad Request: send origin-form requests: /<service>/<path>',
      { connection: 'close' },
    );
  }
  const services = deps.services();
  const route = routeOf(url, req.headers.host, services);
  if (typeof route === 'string') {
    req.resume();
    named = route.slice(0, 64);
    const known = [...services.keys()].join(', ');
    return fail(
      404,
      ErrorCode.EGRESS_UNKNOWN_SERVICE,
      `Not Found: no egress service '${route.slice(0, 64)}'; known services: ${known}`,
    );
  }
  service = route.service;
  const svc = route.service;
  named = svc.name;
  const cfg = svc.settings;
  logPath = `/${svc.name}${route.path}`;
  svc.stats.requests++;
  const t0 = Date.now();
  svc.budget.request(t0);
  const deadline = t0 + cfg.totalTimeoutMs;
  // The app gave up: the attempt in flight is cancelled. One abort emitter per attempt (undici
  // takes an EventEmitter as its signal), fired by its timer or by this: AbortSignal's
  // listeners and WebIDL checks were a visible share of the CPU (bench/egress.ts profile).
  let gone = false;
  let attemptCtl: EventEmitter | undefined;
  res.on('close', () => {
    if (res.writableFinished) return;
    gone = true;
    attemptCtl?.emit('abort');
  });
  let body: Awaited<ReturnType<typeof bodyOf>>;
  try {
    body = await bodyOf(req);
  } catch {
    status = 400;
    error = 'the app closed the request body';
    res.destroy();
    return done();
  }
  const headers = upstreamFields(req.headers, requestId);
  const idempotent = isIdempotent(method);
  const tried = new Set<Endpoint>();
  for (let attempt = 0; ; attempt++) {
    const now = Date.now();
    const ep = svc.pick(tried, now);
    tried.add(ep);
    upstream = ep.hostPort;
    attempts++;
    const left = deadline - now;
    const ctl = new EventEmitter();
    attemptCtl = ctl;
    let timedOut = false;
    const t = setTimeout(
      () => {
        timedOut = true;
        ctl.emit('abort');
      },
      Math.min(cfg.perTryTimeoutMs, left),
    );
    ep.active++;
    let out: Outcome;
    try {
      const r = await ep.pool.request({
        method,
        path: route.path,
        headers,
        body: body.bytes ?? body.stream ?? null,
        signal: ctl,
      });
      out = { kind: 'response', res: r };
    } catch (err) {
      out = { kind: 'failed', failure: timedOut ? 'timeout' : failureOf(err), err };
    } finally {
      clearTimeout(t);
      ep.active--;
    }
    if (gone) {
      if (out.kind === 'response') out.res.body.destroy();
      status = 499;
      error = 'the app closed the connection';
      return done();
    }
    // A slow answer is the timeout's business, not the outlier detector's.
    if (out.kind === 'response') ep.record(out.res.statusCode >= 500, Date.now());
    else if (out.failure !== 'timeout') ep.record(true, Date.now());
    // May this attempt be tried again, and after how long?
    let wait: number | undefined;
    const replayable = body.stream === undefined;
    if (attempt < cfg.retry.maxRetries && replayable) {
      if (out.kind === 'failed') {
        // A connection never made sent nothing: safe for any method. A reset or a timeout may
        // have reached the service: only an idempotent request goes again.
        if (
          out.failure === 'refused' ||
          (idempotent && (out.failure === 'reset' || out.failure === 'timeout'))
        )
          wait = backoffMs(attempt + 1, cfg.retry.backoffMs, cfg.retry.maxBackoffMs);
      } else if (idempotent && cfg.retry.on.includes(out.res.statusCode)) {
        const after = retryAfterMs(out.res.headers['retry-after'], Date.now());
        const back = backoffMs(attempt + 1, cfg.retry.backoffMs, cfg.retry.maxBackoffMs);
        if (after === undefined) wait = back;
        else if (after <= cfg.retry.maxRetryAfterMs) wait = Math.max(after, back);
      }
    }
    if (wait !== undefined && Date.now() + wait < deadline) {
      if (svc.budget.tryRetry(Date.now())) {
        svc.stats.retries++;
        if (out.kind === 'response') await out.res.body.dump().catch(() => {});
        await sleep(wait);
        continue;
      }
      svc.stats.budgetExhausted++;
    }
    if (out.kind === 'response') return respond(out.res, ep);
    return failWith(out, ep);
  }

  function failWith(out: Extract<Outcome, { kind: 'failed' }>, ep: Endpoint): undefined {
    const s = svc as Service;
    if (out.failure === 'timeout' || Date.now() >= deadline) {
      s.stats.timeouts++;
      const ms = Date.now() - t0 >= cfg.totalTimeoutMs ? cfg.totalTimeoutMs : cfg.perTryTimeoutMs;
      return fail(
        504,
        ErrorCode.EGRESS_TIMEOUT,
        `Gateway Timeout: ${s.name} did not answer within ${ms} ms`,
      );
    }
    if (out.failure === 'tls') {
      const reason = reasonOf(out.err);
      deps.log.warn('egress TLS to an endpoint failed; not retried and never sent unverified', {
        service: s.name,
        endpoint: ep.url,
        reason,
        request_id: requestId,
      });
      return fail(
        502,
        ErrorCode.EGRESS_TLS_FAILED,
        `Bad Gateway: TLS to ${s.name} (${ep.url}) failed: ${reason}`,
      );
    }
    if (out.failure === 'refused')
      return fail(
        502,
        ErrorCode.EGRESS_UNREACHABLE,
        `Bad Gateway: could not connect to ${s.name} (${ep.url})${isConnectTimeout(out.err) ? ` within ${cfg.connectTimeoutMs} ms` : ''}`,
      );
    error = `${ErrorCode.EGRESS_RESET}: ${reasonOf(out.err)}`;
    return fail(
      502,
      ErrorCode.EGRESS_RESET,
      `Bad Gateway: ${s.name} (${ep.url}) closed the connection`,
    );
  }

  async function respond(up: Dispatcher.ResponseData, ep: Endpoint): Promise<void> {
    status = up.statusCode;
    const h = downstreamHeaders(up.headers as IncomingHttpHeaders);
    for (const name in h) if (name.charCodeAt(0) === 58 /* ':' */) delete h[name];
    res.writeHead(up.statusCode, h);
    // pipe() rather than stream.pipeline(): the latter makes and aborts an AbortController
    // per call, whose DOMException was 5% of the egress CPU (bench/egress.ts profile).
    await new Promise<void>((resolve) => {
      const body = up.body;
      body.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      body.once('error', (err) => {
        if (gone) return;
        // The answer was cut after it began: the app sees its connection closed, not a whole body.
        error = `${ErrorCode.EGRESS_RESET}: ${ep.url} cut the response: ${reasonOf(err)}`;
        ep.record(true, Date.now());
        res.destroy();
      });
      res.once('close', () => {
        if (!res.writableFinished && error === undefined) {
          error = 'the app closed the connection';
          body.destroy();
        }
        resolve();
      });
      body.pipe(res);
    });
    done();
  }
}
