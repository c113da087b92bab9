// Sections of pillion.yaml turned into what `pillion run` takes: the log fields as the flags
// that set them (one parser checks both, a flag given wins), the edge limits as EdgeLimits.
import type { FileConfig } from '../config/schema.ts';
import { parseDuration } from '../core/duration.ts';
import { parseSize } from '../core/size.ts';
import type { EdgeLimits } from '../ingress/limits.ts';
import type { LogFlagValues } from '../logs/flags.ts';

export function logFlagsOf(fc: FileConfig | undefined): LogFlagValues {
  const l = fc?.logs;
  if (!l) return {};
  const v: LogFlagValues = {
    'log-format': l.format,
    'log-file': l.file?.path,
    'log-file-max-size': l.file?.max_size === undefined ? undefined : String(l.file.max_size),
    'log-file-keep': l.file?.keep === undefined ? undefined : String(l.file.keep),
    'log-buffer': l.buffer === undefined ? undefined : String(l.buffer),
    'log-when-full': l.when_full,
    'log-stderr-level': l.stderr_level,
    'log-otlp-endpoint': l.otlp?.endpoint,
  };
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as LogFlagValues;
}

/**
 * `ingress.limits` and `ingress.forwarded_for`, validated already, as the ingress's limits (only
 * the fields set).
 */
export function limitsOf(fc: FileConfig | undefined): Partial<EdgeLimits> | undefined {
  const forwardedFor = fc?.ingress?.forwarded_for;
  const l = fc?.ingress?.limits ?? (forwardedFor ? {} : undefined);
  if (!l) return undefined;
  const bytes = (v: string | number | undefined) =>
    v === undefined ? undefined : parseSize(String(v));
  const ms = (v: string | number | undefined) =>
    v === undefined ? undefined : parseDuration(String(v));
  const out: Partial<Record<keyof EdgeLimits, unknown>> = {
    maxHeaderBytes: bytes(l.max_header_bytes),
    maxHeaders: l.max_headers,
    maxUriBytes: bytes(l.max_uri_bytes),
    maxBodyBytes: bytes(l.max_body_bytes),
    maxConnections: l.max_connections,
    maxConnectionsPerSource: l.max_connections_per_source,
    maxConcurrentStreams: l.max_concurrent_streams,
    headersTimeoutMs: ms(l.headers_timeout),
    bodyIdleTimeoutMs: ms(l.body_idle_timeout),
    bodyMinBytes: bytes(l.body_min_bytes),
    keepAliveTimeoutMs: ms(l.keep_alive_timeout),
    upstreamTimeoutMs: ms(l.upstream_timeout),
    tunnelIdleTimeoutMs: ms(l.tunnel_idle_timeout),
    websocketMaxFrameBytes: bytes(l.websocket_max_frame_bytes),
    websocketMaxMessageBytes: bytes(l.websocket_max_message_bytes),
    underscoreHeaders: l.underscore_headers,
    forwardedFor,
  };
  return Object.fromEntries(
    Object.entries(out).filter(([, x]) => x !== undefined),
  ) as Partial<EdgeLimits>;
}
