import { ErrorCode } from '../core/errors.ts';
import { type Exchange, errorText } from './exchange.ts';

/** The one place that maps an error code to what the client sees. */
interface ErrorResponse {
  status: number;
  text: string;
  headers?: Record<string, string>;
}

/** A request refused before it reached the app: its framing is not trusted further, so close. */
const closing = { connection: 'close' };

const RESPONSES: Partial<Record<ErrorCode, ErrorResponse>> = {
  [ErrorCode.APP_NOT_READY]: {
    status: 503,
    text: 'Service Unavailable: the app is not ready',
    headers: { 'retry-after': '5' },
  },
  [ErrorCode.DRAINING]: {
    status: 503,
    text: 'Service Unavailable: shutting down',
    headers: { 'retry-after': '5', connection: 'close' },
  },
  [ErrorCode.APP_UNREACHABLE]: { status: 502, text: 'Bad Gateway: the app refused the connection' },
  [ErrorCode.APP_RESET]: { status: 502, text: 'Bad Gateway: the app closed the connection' },
  [ErrorCode.APP_BAD_RESPONSE]: {
    status: 502,
    text: 'Bad Gateway: malformed response from the app',
  },
  // Pillion's own open-file limit, not the app: the request may be tried again shortly.
  [ErrorCode.FD_EXHAUSTED]: {
    status: 503,
    text: 'Service Unavailable: out of file descriptors',
    headers: { 'retry-after': '1' },
  },
  [ErrorCode.APP_TIMEOUT]: { status: 504, text: 'Gateway Timeout: the app did not answer in time' },
  [ErrorCode.REQUEST_INVALID]: { status: 400, text: 'Bad Request', headers: closing },
  [ErrorCode.HEADERS_TOO_LARGE]: {
    status: 431,
    text: 'Request Header Fields Too Large',
    headers: closing,
  },
  [ErrorCode.URI_TOO_LONG]: { status: 414, text: 'URI Too Long', headers: closing },
  [ErrorCode.BODY_TOO_LARGE]: { status: 413, text: 'Content Too Large', headers: closing },
  [ErrorCode.REQUEST_TIMEOUT]: { status: 408, text: 'Request Timeout', headers: closing },
  // What gRPC's own Go server answers to gRPC over HTTP/1 (505): the client must come back
  // over HTTP/2. Closing, since the request body is not read.
  [ErrorCode.GRPC_NEEDS_H2]: {
    status: 505,
    text: 'HTTP Version Not Supported: gRPC needs HTTP/2; connect with ALPN h2',
    headers: closing,
  },
  [ErrorCode.EXPECTATION_FAILED]: { status: 417, text: 'Expectation Failed', headers: closing },
  // Pillion cut the request at the drain deadline; the client may try again elsewhere.
  [ErrorCode.DRAIN_TIMEOUT]: {
    status: 503,
    text: 'Service Unavailable: shutting down',
    headers: { 'retry-after': '5', connection: 'close' },
  },
};

const FALLBACK: ErrorResponse = { status: 502, text: 'Bad Gateway' };

/** The response a code answers with: status, text and extra headers. */
export function errorResponse(code: ErrorCode): Readonly<ErrorResponse> {
  return RESPONSES[code] ?? FALLBACK;
}

/** The status a code answers with. */
export function statusOf(code: ErrorCode): number {
  return (RESPONSES[code] ?? FALLBACK).status;
}

/** The text of the error response for `code`. */
export function textOf(code: ErrorCode): string {
  return (RESPONSES[code] ?? FALLBACK).text;
}

/** The body bytes of the error response for `code`. */
export function errorBodyBytes(code: ErrorCode): number {
  const r = RESPONSES[code] ?? FALLBACK;
  return Buffer.byteLength(errorText(r.status, r.text));
}

/** Answers the exchange with the response for `code` (or aborts it if a response has begun). */
export function failWith(ex: Exchange, code: ErrorCode): void {
  const r = RESPONSES[code] ?? FALLBACK;
  if (ex.headersSent) ex.abort();
  else ex.fail(r.status, r.text, r.headers);
}

/** The whole HTTP/1.1 response for a connection-level rejection, written before closing. */
export function rawErrorResponse(code: ErrorCode): string {
  const r = RESPONSES[code] ?? FALLBACK;
  const body = errorText(r.status, r.text);
  return (
    `HTTP/1.1 ${r.status} ${r.text.split(':')[0]}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
  );
}

/** The error a WebSocket handshake to the app is destroyed with when the app stays silent. */
export function appTimeout(): NodeJS.ErrnoException {
  return Object.assign(new Error('the app sent nothing in time'), { code: ErrorCode.APP_TIMEOUT });
}

/** Classifies a failed request to the app. */
export function upstreamErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'ECONNREFUSED' || err.code === 'EADDRNOTAVAIL') return ErrorCode.APP_UNREACHABLE;
  if (err.code === 'EMFILE' || err.code === 'ENFILE') return ErrorCode.FD_EXHAUSTED;
  if (err.code === ErrorCode.APP_TIMEOUT) return ErrorCode.APP_TIMEOUT;
  // llhttp's parse errors: the app's bytes could not be read as one well-formed response.
  if (err.code?.startsWith('HPE_') || err.code === ErrorCode.APP_BAD_RESPONSE)
    return ErrorCode.APP_BAD_RESPONSE;
  return ErrorCode.APP_RESET;
}

/** The client-side error a Node HTTP/1 server reports for a connection, as a code. */
export function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return ErrorCode.HEADERS_TOO_LARGE;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return ErrorCode.REQUEST_TIMEOUT;
    default:
      return ErrorCode.REQUEST_INVALID;
  }
}
