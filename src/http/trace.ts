// Request identity shared by the ingress and the egress: the X-Request-Id kept or made, and the
// W3C Trace Context `traceparent` passed on or started.
import { randomFillSync, randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { clientRequestId } from './headers.ts';

/** `version-traceid-parentid-flags` (W3C Trace Context §3.2); all-zero ids are invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The request's id: the caller's own when it is short and plain, else a new UUID. */
export function requestIdOf(headers: IncomingHttpHeaders): string {
  return clientRequestId(headers) ?? randomUUID();
}

/** True for a `traceparent` a receiver must accept (§3.2.2): known shape, non-zero ids, not ff. */
export function validTraceparent(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const m = TRACEPARENT.exec(value);
  return (
    m !== null && m[1] !== 'ff' && !/^0+$/.test(m[2] as string) && !/^0+$/.test(m[3] as string)
  );
}

/**
 * The `traceparent` to send on: the caller's when valid (Pillion adds no span of its own), else a
 * new trace, sampled, so the services behind see one trace per request.
 */
export function traceparentOf(headers: IncomingHttpHeaders): string {
  const given = headers.traceparent;
  if (validTraceparent(given)) return given;
  const ids = randomHex();
  return `00-${ids.slice(0, 32)}-${ids.slice(32)}-01`;
}

/** Random bytes drawn 4 KiB at a time: one call into OpenSSL per 170 new traces, not per trace. */
const POOL = Buffer.alloc(4080);
let used = POOL.length;

/** 24 random bytes (a trace id and a parent id), as hex. */
function randomHex(): string {
  if (used + 24 > POOL.length) {
    randomFillSync(POOL);
    used = 0;
  }
  used += 24;
  return POOL.toString('hex', used - 24, used);
}
