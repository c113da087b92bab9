/** Every error code Pillion raises; each is documented in docs/errors.md. */
export const ErrorCode = {
  USAGE: 'PILLION_USAGE',
  COMMAND_NOT_FOUND: 'PILLION_COMMAND_NOT_FOUND',
  COMMAND_NOT_EXECUTABLE: 'PILLION_COMMAND_NOT_EXECUTABLE',
  LISTEN_FAILED: 'PILLION_LISTEN_FAILED',
  WORKERS_UNSUPPORTED: 'PILLION_WORKERS_UNSUPPORTED',
  WORKER_FAILED: 'PILLION_WORKER_FAILED',
  TLS_FILE_UNREADABLE: 'PILLION_TLS_FILE_UNREADABLE',
  TLS_KEY_MISMATCH: 'PILLION_TLS_KEY_MISMATCH',
  TLS_CLIENT_CA_INVALID: 'PILLION_TLS_CLIENT_CA_INVALID',
  STATE_DIR_UNWRITABLE: 'PILLION_STATE_DIR_UNWRITABLE',
  APP_NOT_READY: 'PILLION_APP_NOT_READY',
  APP_UNREACHABLE: 'PILLION_APP_UNREACHABLE',
  APP_RESET: 'PILLION_APP_RESET',
  DRAINING: 'PILLION_DRAINING',
  CONFIG_INVALID: 'PILLION_CONFIG_INVALID',
  CONFIG_UNREADABLE: 'PILLION_CONFIG_UNREADABLE',
  LOG_FILE_UNWRITABLE: 'PILLION_LOG_FILE_UNWRITABLE',
  SECRET_UNREADABLE: 'PILLION_SECRET_UNREADABLE',
  REQUEST_INVALID: 'PILLION_REQUEST_INVALID',
  HEADERS_TOO_LARGE: 'PILLION_HEADERS_TOO_LARGE',
  URI_TOO_LONG: 'PILLION_URI_TOO_LONG',
  BODY_TOO_LARGE: 'PILLION_BODY_TOO_LARGE',
  REQUEST_TIMEOUT: 'PILLION_REQUEST_TIMEOUT',
  APP_TIMEOUT: 'PILLION_APP_TIMEOUT',
  APP_BAD_RESPONSE: 'PILLION_APP_BAD_RESPONSE',
  CONNECTION_REJECTED: 'PILLION_CONNECTION_REJECTED',
  FD_EXHAUSTED: 'PILLION_FD_EXHAUSTED',
  WS_MESSAGE_TOO_LARGE: 'PILLION_WS_MESSAGE_TOO_LARGE',
  GRPC_NEEDS_H2: 'PILLION_GRPC_NEEDS_H2',
  ENGINE_UNSUPPORTED: 'PILLION_ENGINE_UNSUPPORTED',
  DRAIN_TIMEOUT: 'PILLION_DRAIN_TIMEOUT',
  EXPECTATION_FAILED: 'PILLION_EXPECTATION_FAILED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error a person can act on: `code` is stable, the message says where, what and the way out. */
export class PillionError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PillionError';
    this.code = code;
  }
}

/** The process exit code for an error that stops Pillion before the app runs. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof PillionError)) return 1;
  switch (err.code) {
    case ErrorCode.USAGE:
      return 2;
    case ErrorCode.COMMAND_NOT_FOUND:
      return 127;
    case ErrorCode.COMMAND_NOT_EXECUTABLE:
      return 126;
    default:
      return 1;
  }
}
