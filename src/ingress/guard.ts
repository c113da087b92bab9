// Request checks run before anything reaches the app: one canonical request upstream, or a 4xx
// and nothing upstream. llhttp (strict) has already refused what it cannot frame.
import type { IncomingHttpHeaders } from 'node:http';
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

/** An HTTP/1.x request head as llhttp parsed it, with the fields the checks need found once. */
export interface H1Head {
  method: string;
  url: string;
  /** `1.0` or `1.1`. */
  version: string;
  /** Fields as [name, value, ...], in arrival order. */
  raw: string[];
  keepAlive: boolean;
  upgrade: boolean;
  hosts: number;
  host: string | undefined;
  transferEncoding: string | undefined;
  contentLength: string | undefined;
  expect: string | undefined;
  underscore: boolean;
}

/** Finds the fields the checks and the engine need, in one pass over the flat list. */
export function scanHead(h: H1Head): void {
  const raw = h.raw;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const len = name.length;
    if (len === 4 && name.toLowerCase() === 'host') {
      h.hosts++;
      h.host ??= raw[i + 1];
    } else if (len === 17 && name.toLowerCase() === 'transfer-encoding') {
      // llhttp refuses a body framed by anything but a final chunked; repeats are joined.
      h.transferEncoding =
        h.transferEncoding === undefined ? raw[i + 1] : `${h.transferEncoding}, ${raw[i + 1]}`;
    } else if (len === 14 && name.toLowerCase() === 'content-length') h.contentLength = raw[i + 1];
    else if (len === 6 && name.toLowerCase() === 'expect') h.expect = raw[i + 1];
    if (name.includes('_')) h.underscore = true;
  }
}

/** True when the head has a Transfer-Encoding field (its body is llhttp's to frame). */
export function hasTransferEncoding(head: H1Head): boolean {
  const raw = head.raw;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === 17 && n.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

/** True for a request asking to become a WebSocket (RFC 6455 §4.1). */
export function isWebSocketUpgrade(head: H1Head): boolean {
  if (head.method !== 'GET') return false;
  let upgrade = false;
  let connection = false;
  const raw = head.raw;
  for (let i = 0; i < raw.length; i += 2) {
    const n = (raw[i] as string).toLowerCase();
    const v = (raw[i + 1] as string).toLowerCase();
    if (n === 'upgrade') upgrade = v.trim() === 'websocket';
    else if (n === 'connection') connection ||= v.split(',').some((t) => t.trim() === 'upgrade');
  }
  return upgrade && connection;
}

/** Checks an HTTP/1.x request head llhttp has parsed (strictly) and scanHead has read. */
export function checkH1(h: H1Head, lim: EdgeLimits): Verdict {
  // HTTP/0.9 has no head to check and no status line to answer with.
  if (h.version !== '1.1' && h.version !== '1.0') return bad(ErrorCode.REQUEST_INVALID);
  if (h.raw.length / 2 > lim.maxHeaders) return bad(ErrorCode.HEADERS_TOO_LARGE);
  if (h.url.length > lim.maxUriBytes) return bad(ErrorCode.URI_TOO_LONG);
  if (lim.underscoreHeaders === 'reject' && h.underscore) return bad(ErrorCode.REQUEST_INVALID);
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1, at most one before.
  if (h.hosts > 1 || (h.hosts === 0 && h.version === '1.1')) return bad(ErrorCode.REQUEST_INVALID);
  // The only transfer coding Pillion forwards is chunked, re-framed by itself; anything else
  // (gzip, a repeated chunked) would change the body's meaning on the way (RFC 9112 §6.1).
  const te = h.transferEncoding;
  if (te !== undefined && te.toLowerCase() !== 'chunked') return bad(ErrorCode.REQUEST_INVALID);
  const cl = h.contentLength;
  if (cl !== undefined && Number(cl) > lim.maxBodyBytes) return bad(ErrorCode.BODY_TOO_LARGE);
  // RFC 9110 §10.1.1: an expectation other than 100-continue cannot be met.
  if (h.expect !== undefined && h.version === '1.1' && h.expect.toLowerCase() !== '100-continue')
    return bad(ErrorCode.EXPECTATION_FAILED);
  const target = normaliseTarget(h.method, h.url, h.host ?? '');
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
    if (Array.isArray(v)) for (const one of v) size += name.length + one.length + 32;
    else size += name.length + (v ?? '').length + 32;
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
