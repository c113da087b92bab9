// The ingress limits and timeouts, each with a documented default (docs/edge.md).

/** How Pillion treats request header names containing `_`, which some apps read as `-`. */
export type UnderscoreAction = 'drop' | 'reject';

/**
 * What Pillion does with a client's own `X-Forwarded-For`: replace it with the peer address
 * (the default: a client's value is never trusted), or append the peer address to it (for an
 * edge behind a proxy of the operator's own that sets the field).
 */
export type ForwardedForMode = 'replace' | 'append';

export interface EdgeLimits {
  /** Request line plus header bytes; more → 431. */
  maxHeaderBytes: number;
  /** Request header fields; more → 431. */
  maxHeaders: number;
  /** Request target bytes; more → 414. */
  maxUriBytes: number;
  /** Request body bytes; more → 413. */
  maxBodyBytes: number;
  /** Open client connections; more are closed at accept. */
  maxConnections: number;
  /** Open client connections from one source address; more are closed at accept. 0: no cap. */
  maxConnectionsPerSource: number;
  /** Concurrent HTTP/2 streams per connection, advertised in SETTINGS. */
  maxConcurrentStreams: number;
  /** From connection (or previous response) to the end of the request headers; then 408. */
  headersTimeoutMs: number;
  /** The body's window: in each, at least `bodyMinBytes` must arrive (or the body end); then 408. */
  bodyIdleTimeoutMs: number;
  /** Body bytes a client must send in each `bodyIdleTimeoutMs` window (a rate floor). */
  bodyMinBytes: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Longest pause from the app (waiting for its head, or between body bytes); then 504. */
  upstreamTimeoutMs: number;
  /** Longest pause on an open WebSocket tunnel, both ways; then it is closed. */
  tunnelIdleTimeoutMs: number;
  /** One WebSocket frame from a client (payload bytes); more → close code 1009. */
  websocketMaxFrameBytes: number;
  /** One WebSocket message from a client, all its fragments; more → close code 1009. */
  websocketMaxMessageBytes: number;
  underscoreHeaders: UnderscoreAction;
  forwardedFor: ForwardedForMode;
}

export const DEFAULT_LIMITS: Readonly<EdgeLimits> = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  maxHeaders: 100,
  maxUriBytes: 8 * 1024,
  maxBodyBytes: 100 * 1024 * 1024,
  maxConnections: 10_000,
  // Off: behind a load balancer or a node's NAT, every client may share one address.
  maxConnectionsPerSource: 0,
  maxConcurrentStreams: 100,
  headersTimeoutMs: 15_000,
  bodyIdleTimeoutMs: 30_000,
  // 1 KiB per 30 s (34 B/s): far below any real upload, far above a slow-body attack's trickle.
  bodyMinBytes: 1024,
  keepAliveTimeoutMs: 5_000,
  upstreamTimeoutMs: 60_000,
  tunnelIdleTimeoutMs: 300_000,
  // 16 MiB: far above what chat, RPC or streaming messages need (usually KiBs), and a sixth of
  // the 100 MiB a common server library accepts, so an oversized message is stopped at the edge
  // with a clear 1009 before the app buffers it. The frame cap equals the message cap because
  // most clients send a whole message as one frame; lower it to bound single frames.
  websocketMaxFrameBytes: 16 * 1024 * 1024,
  websocketMaxMessageBytes: 16 * 1024 * 1024,
  underscoreHeaders: 'drop',
  forwardedFor: 'replace',
});

/** The defaults with the given values laid over them. */
export function resolveLimits(partial: Partial<EdgeLimits> | undefined): EdgeLimits {
  return { ...DEFAULT_LIMITS, ...partial };
}
