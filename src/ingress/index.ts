// Ingress owns the TLS listener: HTTP/1.1 and HTTP/2 by ALPN, drain, and proxying to the app.
// The app's address and readiness come from the supervisor; log lines are written by logs/.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import {
  createServer as createH2Server,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createServer as createTlsServer,
  type TLSSocket,
  type Server as TlsServer,
} from 'node:tls';
import type { Concern } from '../core/concern.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { rawErrorResponse } from './error-status.ts';
import { closingSockets, H1Exchange, H2Exchange } from './exchange.ts';
import { connectionCap, openFileLimit } from './fd-budget.ts';
import { checkH1, checkH2 } from './guard.ts';
import { H2Guard } from './h2-guard.ts';
import { H1Downstream, H2Downstream } from './h2c-downstream.ts';
import { H2cForwarder } from './h2c-forward.ts';
import { type EdgeLimits, resolveLimits } from './limits.ts';
import { LogThrottle } from './log-throttle.ts';
import { AppProxy, type ProxyDeps } from './proxy.ts';
import { Rejections } from './rejections.ts';
import { SourceCap } from './source-cap.ts';
import type { TlsMaterial } from './tls-context.ts';
import { isWebSocketUpgrade, WebSocketTunnels } from './websocket.ts';
import { isH2WebSocket } from './ws-h2.ts';

export interface IngressOptions extends ProxyDeps {
  host: string;
  port: number;
  tls: TlsMaterial;
  log: Logger;
  /** `app.protocol`: HTTP/1.1 to the app (default), or cleartext HTTP/2 (h2c-forward.ts). */
  appProtocol?: 'http1' | 'h2c';
}

export class Ingress implements Concern {
  readonly name = 'ingress';
  readonly #opts: IngressOptions;
  readonly #proxy: AppProxy;
  readonly #h2c: H2cForwarder | undefined;
  readonly #tls: TlsServer;
  readonly #h1: HttpServer;
  readonly #h2: Http2Server;
  readonly #sockets = new Set<TLSSocket>();
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #limits: EdgeLimits;
  readonly #rejections: Rejections;
  readonly #tunnels: WebSocketTunnels;
  readonly #fdLimit = openFileLimit();
  readonly #cap: number;
  #draining = false;
  #address: { host: string; port: number } | undefined;

  constructor(opts: IngressOptions) {
    this.#opts = opts;
    this.#proxy = new AppProxy(opts);
    const draining = (): boolean => this.#draining;
    const lim = resolveLimits(opts.limits);
    this.#limits = lim;
    const h2c = opts.appProtocol === 'h2c' ? new H2cForwarder(opts, lim) : undefined;
    this.#h2c = h2c;
    const rejections = new Rejections(opts.log, opts.accessLog);
    this.#rejections = rejections;
    // Node's strict parser stays on: no insecureHTTPParser, no lenient flags.
    this.#h1 = createHttpServer(
      {
        maxHeaderSize: lim.maxHeaderBytes,
        headersTimeout: lim.headersTimeoutMs,
        // The body has its own idle timeout (proxy.ts); a whole-request deadline would cut
        // long uploads.
        requestTimeout: 0,
        keepAliveTimeout: lim.keepAliveTimeoutMs,
        // Checked four times a second, so a slow-headers client is cut at most 250 ms late.
        connectionsCheckingInterval: Math.max(10, Math.min(250, lim.headersTimeoutMs / 4)),
        // No protocol switch but WebSocket: `Upgrade: h2c` (or anything else) is served as
        // plain HTTP/1.1 and the field is not forwarded.
        shouldUpgradeCallback: isWebSocketUpgrade,
        // Checked in guard.ts, so the refusal also closes the connection.
        requireHostHeader: false,
      },
      (req, res) => {
        // Pipelined behind a refused request on a closing connection: never forwarded.
        if (closingSockets.has(req.socket)) {
          req.socket.destroy();
          return;
        }
        const verdict = checkH1(req, lim);
        rejections.current.set(req.socket, { req, res });
        if (verdict.ok && h2c)
          h2c.forward(new H1Downstream(new H1Exchange(req, res, draining, verdict.target)), false);
        else if (verdict.ok) this.#proxy.handle(new H1Exchange(req, res, draining, verdict.target));
        else this.#proxy.handle(new H1Exchange(req, res, draining), verdict.code);
      },
    );
    // One more than the limit is kept, so a request over it is seen and refused, not truncated.
    this.#h1.maxHeadersCount = lim.maxHeaders + 1;
    this.#h1.on('clientError', rejections.onClientError);
    this.#h1.on('connect', rejections.onConnect);
    this.#tunnels = new WebSocketTunnels({
      upstream: opts.upstream,
      accessLog: opts.accessLog,
      limits: lim,
      reject: (reason, remote, fields) => rejections.record(reason, remote, fields),
    });
    this.#h1.on('upgrade', (req, socket, head) => {
      if (this.#draining) socket.end(rawErrorResponse(ErrorCode.DRAINING), () => socket.destroy());
      else this.#tunnels.handle(req, socket as Socket, head);
    });
    this.#h2 = createH2Server({
      settings: {
        maxConcurrentStreams: lim.maxConcurrentStreams,
        maxHeaderListSize: lim.maxHeaderBytes,
        // RFC 8441: extended CONNECT, so HTTP/2 clients can open WebSockets (ws-h2.ts).
        enableConnectProtocol: true,
      },
      maxHeaderListPairs: lim.maxHeaders + 4,
      // Node's defaults are 1,000 and 100; an empty-DATA flood counts as invalid frames.
      maxSessionInvalidFrames: 100,
      maxSessionRejectedStreams: 100,
    });
    this.#h2.on('stream', (stream, headers, _flags, raw: string[]) => {
      const verdict = checkH2(headers, raw.length / 2, lim);
      if (verdict.ok && isH2WebSocket(headers)) {
        if (this.#draining) this.#proxy.handle(new H2Exchange(stream, headers), ErrorCode.DRAINING);
        else this.#tunnels.handleH2(stream, headers, verdict.target);
        return;
      }
      if (verdict.ok && h2c) h2c.forward(new H2Downstream(stream, headers, verdict.target), true);
      else
        this.#proxy.handle(new H2Exchange(stream, headers), verdict.ok ? undefined : verdict.code);
    });
    const h2guard = new H2Guard(rejections, lim.keepAliveTimeoutMs, lim.upstreamTimeoutMs);
    this.#h2.on('session', (session) => {
      h2guard.watch(session);
      // Protocol errors end the session (nghttp2 sends GOAWAY): the peer's fault, logged once.
      const remote = session.socket?.remoteAddress;
      session.on('error', (err: NodeJS.ErrnoException) =>
        rejections.record('H2_PROTOCOL_ERROR', remote, {
          error: err.code,
          detail: err.message.slice(0, 80),
        }),
      );
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      if (this.#draining) session.close();
    });
    this.#tls = createTlsServer(
      {
        cert: opts.tls.cert,
        key: opts.tls.key,
        minVersion: 'TLSv1.2',
        ALPNProtocols: ['h2', 'http/1.1'],
        handshakeTimeout: lim.headersTimeoutMs,
        // Nagle off, as Node's own HTTP servers do: with it, the first response on a fresh
        // TLS 1.3 connection waits behind the session tickets for the client's delayed ACK.
        noDelay: true,
      },
      (socket) => this.#dispatch(socket),
    );
    // Past the cap a connection is closed at accept, before any TLS work. The cap stays under
    // the open-file limit, so a flood is refused here, counted, instead of meeting EMFILE.
    this.#cap = connectionCap(lim.maxConnections, this.#fdLimit);
    this.#tls.maxConnections = this.#cap;
    this.#tls.on('drop', (d?: { remoteAddress?: string }) =>
      rejections.recordFlood('MAX_CONNECTIONS', d?.remoteAddress),
    );
    if (lim.maxConnectionsPerSource > 0) {
      // Ahead of the TLS server's own listener, so a refused connection gets no TLS work.
      const perSource = new SourceCap(lim.maxConnectionsPerSource);
      this.#tls.prependListener('connection', (socket: Socket) => {
        if (perSource.admit(socket)) return;
        rejections.recordFlood('MAX_CONNECTIONS_PER_SOURCE', socket.remoteAddress);
        socket.destroy();
      });
    }
    // A connection flood brings as many failed handshakes: one line a second per reason.
    const handshakes = new LogThrottle({
      intervalMs: 1000,
      emit: (reason, suppressed, fields) =>
        opts.log.warn('TLS handshake failed', { ...fields, reason, suppressed }),
    });
    this.#tls.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) =>
      handshakes.note(err.code ?? 'OTHER', { remote: socket.remoteAddress }),
    );
    // The h1 server never listens itself; this starts its connection tracking (idle close, timeouts).
    this.#h1.emit('listening');
  }

  /** Resolves once no request is in flight to the app; see AppProxy.quiesce. */
  async quiesce(timeoutMs: number): Promise<void> {
    await Promise.all([this.#proxy.quiesce(timeoutMs), this.#h2c?.quiesce(timeoutMs)]);
  }

  /** Client connections open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Requests sent to the app whose exchange has not ended yet. */
  get inflight(): number {
    return this.#proxy.inflight + (this.#h2c?.inflight ?? 0);
  }

  /** Connection-level rejections so far, by reason. */
  get rejections(): Record<string, number> {
    return this.#rejections.counts;
  }

  /** The limits in force. */
  get limits(): Readonly<EdgeLimits> {
    return this.#limits;
  }

  /** Where the listener is bound (the real port when 0 was asked). */
  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  async start(): Promise<void> {
    const { host, port, log, tls } = this.#opts;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why =
          err.code === 'EADDRINUSE'
            ? 'address already in use'
            : err.code === 'EACCES'
              ? 'permission denied'
              : err.message;
        reject(
          new PillionError(
            ErrorCode.LISTEN_FAILED,
            `cannot listen on ${host}:${port}: ${why} (${err.code}); choose another with --listen HOST:PORT`,
            { cause: err },
          ),
        );
      };
      this.#tls.once('error', onError);
      this.#tls.listen({ host, port }, () => {
        this.#tls.off('error', onError);
        this.#tls.on('error', (err: NodeJS.ErrnoException) => this.#acceptFailed(err));
        resolve();
      });
    });
    const addr = this.#tls.address();
    if (addr && typeof addr === 'object') this.#address = { host: addr.address, port: addr.port };
    log.info('ingress listening', {
      address: this.#address?.host,
      port: this.#address?.port,
      protocols: ['h2', 'http/1.1'],
      cert: tls.certFile,
      generated_cert: tls.generated,
      cert_sha256: tls.fingerprint256,
      cert_expires: tls.validTo,
      cert_names: tls.subjectAltName,
      max_connections: this.#cap,
    });
    if (this.#cap < this.#limits.maxConnections) {
      log.warn('connection cap lowered to fit the open-file limit', {
        max_connections: this.#limits.maxConnections,
        open_file_limit: this.#fdLimit,
        cap: this.#cap,
      });
    }
  }

  /**
   * An error on the listening socket after listen: accept failed. At EMFILE libuv closes the
   * waiting connections itself and says nothing; it reports EMFILE only when its spare
   * descriptor is gone too. Counted and logged once a second, never thrown: the listener goes on.
   */
  #acceptFailed(err: NodeJS.ErrnoException): void {
    const reason = err.code === 'EMFILE' || err.code === 'ENFILE' ? err.code : 'ACCEPT_FAILED';
    this.#rejections.recordFlood(reason, undefined, { error: err.code, syscall: err.syscall });
  }

  /** The connection cap in force: `maxConnections`, lowered to fit the open-file limit. */
  get connectionCap(): number {
    return this.#cap;
  }

  /**
   * Drains: stops accepting, lets requests in flight finish (HTTP/1.1 responses carry
   * `Connection: close`, HTTP/2 sessions get GOAWAY), and closes what is left at the deadline.
   */
  async stop(deadline: AbortSignal): Promise<void> {
    if (!this.#address) return;
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.#tls.close(() => resolve()));
    this.#h1.close(); // closes idle keep-alive connections; busy ones close after their response
    for (const s of this.#sessions) s.close(); // GOAWAY with the last stream id; in-flight streams finish
    this.#tunnels.closeAll(); // close code 1001 (going away) both ways
    const gaveUp = new Promise<'deadline'>((resolve) => {
      if (deadline.aborted) resolve('deadline');
      else deadline.addEventListener('abort', () => resolve('deadline'), { once: true });
    });
    // An idle connection may have been mid-request when close ran: keep closing idle ones.
    // The pause keeps the event loop alive: in attach mode the last socket may be the only
    // handle left, and an unref'd pause let Node exit (code 13) before the drain finished.
    const sweep = (async () => {
      while (this.#sockets.size > 0 && !deadline.aborted) {
        this.#h1.closeIdleConnections();
        await sleep(100);
      }
    })();
    if ((await Promise.race([closed, gaveUp])) === 'deadline') {
      this.#opts.log.warn('drain timeout: closing connections still open', {
        connections: this.#sockets.size,
      });
      for (const s of this.#sockets) s.destroy();
      await closed;
    }
    await sweep;
    this.#proxy.close();
    this.#h2c?.close();
    this.#opts.log.info('ingress stopped');
  }

  #dispatch(socket: TLSSocket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    if (socket.alpnProtocol === 'h2') this.#h2.emit('connection', socket);
    else this.#h1.emit('connection', socket);
  }
}
