import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { LimitsSettings } from '../config/settings.ts';

/** Hop-by-hop and connection-specific fields (RFC 9110 §7.6.1, RFC 9113 §8.2.2). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'http2-settings',
]);

/** Fields Pillion sets itself on the way to the app; the client's values are never trusted. */
const SET_BY_PILLION = new Set([
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'expect',
  // The verified client certificate (mTLS); a client's own is never passed on, mTLS or not.
  'x-forwarded-client-cert',
]);

/** Fields a `Connection` list may never strip. */
const NEVER_STRIPPED = new Set(['host', 'content-length', 'transfer-encoding']);

/** A client's own request id is kept when it is short and plain; otherwise Pillion makes one. */
const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

export interface ForwardedFor {
  remote: string;
  host: string;
  requestId: string;
  /** The client's `X-Forwarded-For` is replaced (default) or the peer appended to it. */
  forwardedFor?: LimitsSettings['forwardedFor'];
  /** For an HTTP/2 app: the authority goes in `:authority`, not Host (RFC 9113 §8.3.1). */
  h2?: boolean;
  /** W3C trace context Pillion sends in place of the client's (proxy.ts TraceStart). */
  trace?: { header: string; tracestate: string | undefined } | undefined;
  /** mTLS: the connection's verified identity (tls/client-auth.ts); the client's field of that name is removed. */
  clientCert?: ClientCertHeader | undefined;
}

/** The field that carries a connection's verified client certificate to the app (mTLS). */
export interface ClientCertHeader {
  /** Lower-case; removed from what the client sent. */
  name: string;
  /** Absent without a certificate (`mode: optional`). */
  value: string | undefined;
}

/** The `X-Forwarded-For` sent to the app: the peer alone, or appended to the client's list. */
function forwardedForValue(src: IncomingHttpHeaders, fwd: ForwardedFor): string {
  if (fwd.forwardedFor !== 'append') return fwd.remote;
  const given = src['x-forwarded-for'];
  const hops = (Array.isArray(given) ? given.join(',') : (given ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  hops.push(fwd.remote);
  return hops.join(', ');
}

/** Lower-case names listed in a Connection header, which are hop-by-hop for that message. */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const tokens = new Set<string>();
  for (const part of (Array.isArray(value) ? value.join(',') : value).split(',')) {
    const t = part.trim().toLowerCase();
    if (t && !NEVER_STRIPPED.has(t)) tokens.add(t);
  }
  return tokens;
}

/** True for a hop-by-hop or connection-specific field name (lower-case). */
export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name);
}

/** True for a field Pillion sets itself on the way to the app (lower-case). */
export function isSetByPillion(name: string): boolean {
  return SET_BY_PILLION.has(name);
}

/** The request id to use: the client's own if it looks safe, else undefined. */
export function clientRequestId(headers: IncomingHttpHeaders): string | undefined {
  const id = headers['x-request-id'];
  return typeof id === 'string' && REQUEST_ID.test(id) ? id : undefined;
}

/** The headers sent to the app: hop-by-hop and pseudo-headers removed, forwarding fields set. */
export function upstreamHeaders(src: IncomingHttpHeaders, fwd: ForwardedFor): OutgoingHttpHeaders {
  const listed = connectionTokens(src.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in src) {
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name) || SET_BY_PILLION.has(name))
      continue;
    if (fwd.trace && (name === 'traceparent' || name === 'tracestate')) continue;
    if (listed?.has(name) || (fwd.h2 && name === 'host') || name === fwd.clientCert?.name) continue;
    // Some apps read `_` as `-`, so `X_Forwarded_For` could pass for a field Pillion sets.
    if (name.includes('_')) continue;
    out[name] = src[name];
  }
  if (fwd.h2) out[':authority'] = fwd.host;
  else out.host = fwd.host;
  out['x-forwarded-for'] = forwardedForValue(src, fwd);
  out['x-forwarded-proto'] = 'https';
  out['x-forwarded-host'] = fwd.host;
  out['x-request-id'] = fwd.requestId;
  if (fwd.trace) {
    out.traceparent = fwd.trace.header;
    if (fwd.trace.tracestate !== undefined) out.tracestate = fwd.trace.tracestate;
  }
  const cc = fwd.clientCert;
  if (cc?.value !== undefined) out[cc.name] = cc.value;
  return out;
}

/** The app's response headers with hop-by-hop fields removed, for either protocol. */
export function downstreamHeaders(src: IncomingHttpHeaders): OutgoingHttpHeaders {
  const listed = connectionTokens(src.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in src) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = src[name];
  }
  return out;
}
