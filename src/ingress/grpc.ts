// gRPC on the h2c path: how a gRPC request is recognised, and what a gRPC client gets when
// Pillion itself fails its call (doc/PROTOCOL-HTTP2.md and doc/statuscodes.md of gRPC).
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { ErrorCode } from '../core/errors.ts';

/**
 * `application/grpc`, `application/grpc+proto`, `application/grpc;…`: gRPC over HTTP/2. Not
 * `application/grpc-web*`, which is built for HTTP/1.1 (its trailers travel in the body) and
 * passes like any other request.
 */
export function isGrpc(headers: IncomingHttpHeaders): boolean {
  const ct = headers['content-type'];
  if (ct === undefined || ct.length < 16) return false;
  if (ct.slice(0, 16).toLowerCase() !== 'application/grpc') return false;
  const next = ct.charCodeAt(16);
  // end, '+', ';', or whitespace before a parameter
  return Number.isNaN(next) || next === 43 || next === 59 || next === 32 || next === 9;
}

/** gRPC status codes Pillion sends itself. */
export const GrpcStatus = {
  INTERNAL: 13,
  UNAVAILABLE: 14,
  RESOURCE_EXHAUSTED: 8,
} as const;

/**
 * The gRPC status for a failure of Pillion's own, following gRPC's HTTP-to-gRPC mapping (502,
 * 503, 504 → UNAVAILABLE) as Envoy does, so clients retry it as they would a dropped connection.
 */
export function grpcStatusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.APP_BAD_RESPONSE:
      return GrpcStatus.INTERNAL;
    case ErrorCode.FD_EXHAUSTED:
    case ErrorCode.APP_NOT_READY:
    case ErrorCode.APP_UNREACHABLE:
    case ErrorCode.APP_RESET:
    case ErrorCode.APP_TIMEOUT:
    case ErrorCode.DRAINING:
    case ErrorCode.DRAIN_TIMEOUT:
      return GrpcStatus.UNAVAILABLE;
    default:
      return GrpcStatus.INTERNAL;
  }
}

/** `grpc-message` is percent-encoded: bytes outside 0x20–0x7E, and `%` itself. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    out +=
      b < 0x20 || b > 0x7e || b === 0x25
        ? `%${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b);
  }
  return out;
}

/**
 * A Trailers-Only response (one HEADERS frame with END_STREAM): `:status 200` and the gRPC
 * status, which a gRPC client reads as the call's outcome with Pillion's reason as its message.
 * A plain HTTP 502/503 would reach the client only as "Received HTTP status code 503".
 */
export function trailersOnly(status: number, message: string): OutgoingHttpHeaders {
  return {
    ':status': 200,
    'content-type': 'application/grpc',
    'grpc-status': String(status),
    'grpc-message': encodeGrpcMessage(message),
  };
}

/** The numeric grpc-status in a header block, if any. */
export function grpcStatusIn(headers: IncomingHttpHeaders): number | undefined {
  const v = headers['grpc-status'];
  if (typeof v !== 'string') return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}
