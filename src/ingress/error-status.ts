import type { OutgoingHttpHeaders } from 'node:http';
import { ErrorCode } from '../core/errors.ts';
import type { Exchange } from './exchange.ts';

/** The one place that maps an error code to what the client sees. */
interface ErrorResponse {
  status: number;
  text: string;
  headers?: OutgoingHttpHeaders;
}

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
};

const FALLBACK: ErrorResponse = { status: 502, text: 'Bad Gateway' };

/** Answers the exchange with the response for `code` (or aborts it if a response has begun). */
export function failWith(ex: Exchange, code: ErrorCode): number {
  const r = RESPONSES[code] ?? FALLBACK;
  if (ex.headersSent) ex.abort();
  else ex.fail(r.status, r.text, r.headers);
  return r.status;
}

/** Classifies a failed request to the app. */
export function upstreamErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  if (err.code === 'ECONNREFUSED' || err.code === 'EADDRNOTAVAIL') return ErrorCode.APP_UNREACHABLE;
  return ErrorCode.APP_RESET;
}
