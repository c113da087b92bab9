// Request checks run before anything reaches the app: one canonical request upstream, or a 4xx
// and nothing upstream. Node's strict parser has already refused what it cannot frame.
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { ErrorCode } from '../core/errors.ts';
import type { EdgeLimits } from './limits.ts';

/** What the app is sent as the target and Host, once the client's target is normalised. */
export interface Target {
  path: string;
  authority: string;
}

export type Verdict = { ok: true; target: Target } | { ok: false; code: ErrorCode };

const bad = (code: ErrorCode): Verdict => ({ ok: false, code });

/**
 * The origin-form target to send the app (RFC 9112 §3.2): origin-form as is, `*` only for
 * OPTIONS, absolute-form reduced to its path with its authority as Host (§3.2.2); anything else
 * (authority-form, a bare name) is refused.
 */
export function normaliseTarget(method: string, target: string, host: string): Target | undefined {
  if (target.startsWith('/')) return { path: target, authority: host };
  if (target === '*') return method === 'OPTIONS' ? { path: target, authority: host } : undefined;
  if (!/^https?:\/\//i.test(target)) return undefined;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.username || url.password || !url.host) return undefined;
  return { path: `${url.pathname}${url.search}`, authority: url.host };
}

/** Checks an HTTP/1.x request Node has parsed. */
export function checkH1(req: IncomingMessage, lim: EdgeLimits): Verdict {
  const raw = req.rawHeaders;
  if (raw.length / 2 > lim.maxHeaders) return bad(ErrorCode.HEADERS_TOO_LARGE);
  const url = req.url ?? '';
  if (url.length > lim.maxUriBytes) return bad(ErrorCode.URI_TOO_LONG);
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    if (lim.underscoreHeaders === 'reject' && name.includes('_'))
      return bad(ErrorCode.REQUEST_INVALID);
  }
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one before. Node keeps the first of
  // several silently.
  if (hosts > 1 || (hosts === 0 && req.httpVersion === '1.1'))
    return bad(ErrorCode.REQUEST_INVALID);
  // The only transfer coding Pillion forwards is chunked, re-framed by itself; anything else
  // (gzip, a repeated chunked) would change the body's meaning on the way (RFC 9112 §6.1).
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase() !== 'chunked') return bad(ErrorCode.REQUEST_INVALID);
  const cl = req.headers['content-length'];
  if (cl !== undefined && Number(cl) > lim.maxBodyBytes) return bad(ErrorCode.BODY_TOO_LARGE);
  const target = normaliseTarget(req.method ?? '', url, req.headers.host ?? '');
  if (!target) return bad(ErrorCode.REQUEST_INVALID);
  return { ok: true, target };
}

/** Checks an HTTP/2 request nghttp2 has accepted (it already refuses what RFC 9113 §8 forbids). */
export function checkH2(headers: IncomingHttpHeaders, rawPairs: number, lim: EdgeLimits): Verdict {
  if (rawPairs > lim.maxHeaders + 4) return bad(ErrorCode.HEADERS_TOO_LARGE);
  let size = 0;
  for (const name in headers) {
    const v = headers[name];
    // RFC 9113 §6.5.2 size: name + value + 32 per field.
    for (const one of Array.isArray(v) ? v : [v ?? '']) size += name.length + one.length + 32;
    if (name.includes('_') && lim.underscoreHeaders === 'reject')
      return bad(ErrorCode.REQUEST_INVALID);
  }
  if (size > lim.maxHeaderBytes) return bad(ErrorCode.HEADERS_TOO_LARGE);
  const method = headers[':method'];
  const path = headers[':path'];
  const authority = headers[':authority'];
  if (typeof method !== 'string') return bad(ErrorCode.REQUEST_INVALID);
  // CONNECT only as RFC 8441's extended CONNECT for a WebSocket; `:protocol` on nothing else.
  const protocol = headers[':protocol'];
  if (method === 'CONNECT' ? protocol !== 'websocket' : protocol !== undefined)
    return bad(ErrorCode.REQUEST_INVALID);
  if (typeof path !== 'string') return bad(ErrorCode.REQUEST_INVALID);
  if (path.length > lim.maxUriBytes) return bad(ErrorCode.URI_TOO_LONG);
  // RFC 9113 §8.3.1: Host, if present with :authority, must say the same.
  const host = headers.host;
  if (host !== undefined && authority !== undefined && host !== authority)
    return bad(ErrorCode.REQUEST_INVALID);
  const target = normaliseTarget(method, path, (authority as string | undefined) ?? host ?? '');
  if (!target || target.path !== path) return bad(ErrorCode.REQUEST_INVALID);
  return { ok: true, target };
}
