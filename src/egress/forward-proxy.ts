// Forward-proxy mode: the app's HTTP client, told HTTP_PROXY / HTTPS_PROXY, sends absolute-form
// requests (`GET http://host/path`) and CONNECT tunnels here; only allow-listed hosts are reached.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Agent } from 'undici';
import type { AllowedHost } from '../config/settings-egress.ts';
import { ErrorCode } from '../core/errors.ts';
import { connectionTokens, downstreamHeaders, isHopByHop } from '../http/headers.ts';
import { requestIdOf, traceparentOf } from '../http/trace.ts';
import type { AccessLog } from '../logs/access-log.ts';

export interface ProxyDeps {
  allow(): readonly AllowedHost[];
  agent: Agent;
  accessLog: AccessLog;
}

/** True when the allow-list names this host (exactly, or as a subdomain of a `*.` entry) and port. */
export function isAllowed(list: readonly AllowedHost[], host: string, port: number): boolean {
  const h = host
    .replace(/^\[|\]$/g, '')
    .toLowerCase()
    .replace(/\.$/, '');
  return list.some(
    (a) =>
      (a.port === undefined || a.port === port) &&
      (a.subdomains ? h.endsWith(`.${a.host}`) : h === a.host),
  );
}

function refuse(res: ServerResponse, status: number, code: string, text: string): void {
  const body = `${text}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-pillion-error': code,
  });
  res.end(body);
}

/** An absolute-form request (`GET http://host:port/path`) to an allowed host, sent on as HTTP. */
export async function proxyRequest(
  req: IncomingMessage,
  res: ServerResponse,
  deps: ProxyDeps,
): Promise<void> {
  const started = performance.now();
  const method = req.method as string;
  const requestId = requestIdOf(req.headers);
  let status = 0;
  let bytes = 0;
  let error: string | undefined;
  const log = () =>
    deps.accessLog({
      source: 'egress-access',
      method,
      path: String(req.url),
      status,
      durationMs: performance.now() - started,
      bytes,
      protocol: `HTTP/${req.httpVersion}`,
      remote: req.socket.remoteAddress ?? '',
      requestId,
      ...(error ? { error } : {}),
    });
  let target: URL;
  try {
    target = new URL(req.url as string);
  } catch {
    target = new URL('invalid:');
  }
  if (target.protocol !== 'http:') {
    req.resume();
    status = 400;
    error = ErrorCode.REQUEST_INVALID;
    refuse(res, 400, error, 'Bad Request: the proxy takes http:// URLs; use CONNECT for https');
    return log();
  }
  const port = Number(target.port || 80);
  if (!isAllowed(deps.allow(), target.hostname, port)) {
    req.resume();
    status = 403;
    error = ErrorCode.EGRESS_NOT_ALLOWED;
    refuse(
      res,
      403,
      error,
      `Forbidden: ${target.hostname}:${port} is not in egress.forward_proxy.allow`,
    );
    return log();
  }
  const listed = connectionTokens(req.headers.connection);
  const headers: Record<string, string | string[]> = {};
  for (const name in req.headers) {
    if (
      isHopByHop(name) ||
      listed?.has(name) ||
      name === 'proxy-authorization' ||
      name === 'x-request-id'
    )
      continue;
    headers[name] = req.headers[name] as string | string[];
  }
  headers['x-request-id'] = requestId;
  headers.traceparent = traceparentOf(req.headers);
  const hasBody =
    req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
  try {
    const up = await deps.agent.request({
      origin: target.origin,
      path: `${target.pathname}${target.search}`,
      method,
      headers,
      body: hasBody ? req : null,
    });
    status = up.statusCode;
    res.writeHead(status, downstreamHeaders(up.headers as IncomingHttpHeaders));
    up.body.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    await new Promise<void>((resolve) => {
      up.body.once('error', () => res.destroy());
      res.once('close', () => resolve());
      up.body.pipe(res);
    });
  } catch (err) {
    status = 502;
    error = ErrorCode.EGRESS_UNREACHABLE;
    if (!res.headersSent)
      refuse(
        res,
        502,
        error,
        `Bad Gateway: ${target.host}: ${(err as { code?: string }).code ?? String(err)}`,
      );
    else res.destroy();
  }
  log();
}

/** A CONNECT tunnel to an allowed host and port; bytes pass untouched (the app's own TLS). */
export function proxyConnect(
  req: IncomingMessage,
  socket: Socket,
  head: Buffer,
  deps: ProxyDeps,
): undefined {
  const started = performance.now();
  const m = /^(\[[^\]]+\]|[^:/]+):(\d{1,5})$/.exec(req.url ?? '');
  let status = 200;
  let error: string | undefined;
  let bytes = 0;
  const log = () =>
    deps.accessLog({
      source: 'egress-access',
      method: 'CONNECT',
      path: String(req.url),
      status,
      durationMs: performance.now() - started,
      bytes,
      protocol: `HTTP/${req.httpVersion}`,
      remote: socket.remoteAddress ?? '',
      requestId: requestIdOf(req.headers),
      ...(error ? { error } : {}),
    });
  const answer = (s: number, code: string, text: string): undefined => {
    status = s;
    error = code;
    socket.end(
      `HTTP/1.1 ${s} ${s === 403 ? 'Forbidden' : s === 400 ? 'Bad Request' : 'Bad Gateway'}\r\nconnection: close\r\nx-pillion-error: ${code}\r\ncontent-length: ${Buffer.byteLength(text) + 1}\r\n\r\n${text}\n`,
    );
    log();
    return undefined;
  };
  if (!m) return answer(400, ErrorCode.REQUEST_INVALID, 'Bad Request: CONNECT takes host:port');
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  const port = Number(m[2]);
  if (!isAllowed(deps.allow(), host, port))
    return answer(
      403,
      ErrorCode.EGRESS_NOT_ALLOWED,
      `Forbidden: ${host}:${port} is not in egress.forward_proxy.allow`,
    );
  const up = connect(port, host);
  let opened = false;
  up.once('connect', () => {
    opened = true;
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) up.write(head);
    up.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    up.pipe(socket);
    socket.pipe(up);
  });
  up.once('error', (err: NodeJS.ErrnoException) => {
    if (!opened)
      return answer(502, ErrorCode.EGRESS_UNREACHABLE, `Bad Gateway: ${host}:${port}: ${err.code}`);
    socket.destroy();
  });
  socket.once('error', () => up.destroy());
  let closed = 0;
  const both = () => {
    if (++closed === 2 && error === undefined) log();
  };
  up.once('close', both);
  socket.once('close', both);
  return undefined;
}
