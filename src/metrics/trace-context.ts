// W3C Trace Context (https://www.w3.org/TR/trace-context/): a client's valid `traceparent` is
// continued with a span of Pillion's own, else a trace is started; the app gets the result.
import { randomFillSync } from 'node:crypto';

/** One request's trace: Pillion's span, its parent (the client's span) and the header for the app. */
export interface RequestTrace {
  traceId: string;
  spanId: string;
  /** The client's span, when its traceparent was valid. */
  parentSpanId: string | undefined;
  /** `traceparent` as the app gets it: Pillion's span as the parent. */
  header: string;
  /** The client's `tracestate`, passed on unchanged with a valid traceparent (§3.3). */
  tracestate: string | undefined;
}

/** version 00, 32 hex trace id, 16 hex parent id, 2 hex flags (§3.2); all-zero ids are invalid. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** tracestate: at most 32 list members, 512 characters is what the spec asks to keep (§3.3.1.5). */
const MAX_TRACESTATE = 512;

/** Random bytes drawn 4 KiB at a time: one system call per 170 requests, not three per request. */
const pool = Buffer.alloc(4096);
let used = pool.length;

function hex(bytes: number): string {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const s = pool.toString('hex', used, used + bytes);
  used += bytes;
  return s;
}

/**
 * The trace of a request with these `traceparent` and `tracestate` values (either absent).
 * An invalid traceparent starts a new trace and drops the tracestate, as §3.3 asks; flags are
 * kept (sampled stays sampled); a new trace is sampled.
 */
export function traceOf(
  traceparent: string | undefined,
  tracestate: string | undefined,
): RequestTrace {
  const spanId = hex(8);
  const m = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  // Version ff is invalid; a higher known-shape version is read as 00 (§4.3).
  if (m && m[1] !== 'ff' && m[2] !== ZERO_TRACE && m[3] !== ZERO_SPAN && (m[1] !== '00' || !m[5])) {
    const state =
      tracestate !== undefined && tracestate.length <= MAX_TRACESTATE ? tracestate : undefined;
    return {
      traceId: m[2],
      spanId,
      parentSpanId: m[3],
      header: `00-${m[2]}-${spanId}-${m[4]}`,
      tracestate: state,
    };
  }
  const traceId = hex(16);
  return {
    traceId,
    spanId,
    parentSpanId: undefined,
    header: `00-${traceId}-${spanId}-01`,
    tracestate: undefined,
  };
}
