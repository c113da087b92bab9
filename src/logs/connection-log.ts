import type { LogOutput } from '../core/log.ts';

/**
 * A connection-level event: something that happened to a connection rather than to a request
 * (a failed TLS handshake, bytes the HTTP parser rejected before there was a request, an
 * HTTP/2 flood cut off). Ingress reports these; each becomes one line, `source: "connection"`.
 */
export interface ConnectionEvent {
  /** A stable snake_case name: `tls_handshake_failed`, `parser_rejected`, `h2_flood`, … */
  event: string;
  remote: string;
  /** Why, as a code when there is one (`ERR_SSL_…`, `HPE_INVALID_METHOD`). */
  reason: string;
  protocol?: string;
  /** The status sent back, when one was (e.g. 400 for a parser rejection). */
  status?: number;
}

export type ConnectionLog = (e: ConnectionEvent) => void;

/** Writes each event as a warn line and counts it by event name in `counts`. */
export function createConnectionLog(
  out: LogOutput,
  counts: Record<string, number> = {},
): ConnectionLog {
  const pid = process.pid;
  return (e) => {
    counts[e.event] = (counts[e.event] ?? 0) + 1;
    out.write(
      `${JSON.stringify({
        time: new Date().toISOString(),
        level: 'warn',
        source: 'connection',
        pid,
        msg: e.event,
        ...e,
      })}\n`,
    );
  };
}
