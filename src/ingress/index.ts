// Ingress owns the TLS listener: HTTP/1.1 and HTTP/2 by ALPN, drain, and proxying to the app.
// The app's address and readiness come from the supervisor; log lines are written by logs/.
import {
  createServer as createH2Server,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import type { TlsSettings } from '../config/settings.ts';
import type { Concern, Prepared } from '../core/concern.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { ClientCertHeader } from '../http/headers.ts';
import { H2Exchange } from './exchange.ts';
import { connectionCap, openFileLimit } from './fd-budget.ts';
import { checkH2 } from './guard.ts';
import { H1Conn, type H1Deps } from './h1-conn.ts';
import { H2Guard } from './h2-guard.ts';
import { H1Downstream, H2Downstream } from './h2c-downstream.ts';
import { H2cForwarder } from './h2c-forward.ts';
import { DEFAULT_LIMITS, type EdgeLimits, resolveLimits } from './limits.ts';
import { llhttp } from './llhttp.ts';
import { MemoryRelief } from './memory-relief.ts';
import { AppProxy, type ProxyDeps } from './proxy.ts';
import { Rejections } from './rejections.ts';
import { SourceCap } from './source-cap.ts';
import { Sweep } from './sweep.ts';
import type { ServedCertificate } from './tls/expiry.ts';
import type { TlsMaterial } from './tls/material.ts';
import { peekFirstByte, redirectServer } from './tls/plain-http.ts';
import { type TlsStats, TlsTerminator } from './tls/terminator.ts';
import { WebSocketTunnels } from './websocket.ts';
import { isH2WebSocket } from './ws-h2.ts';

/** The part of the config a reload can change live (Ingress.prepare). */
export interface IngressSlice {
  host: string;
  port: number;
  limits?: Partial<EdgeLimits>;
  /** `ingress.tls`: certificates and policy, read again and swapped in at commit. */
  tls?: TlsSettings;
}

/**
 * Quiet time after the last connection-level event before memory is given back
 * (memory-relief.ts): past the end of a flood's reconnect bursts, well inside the 60 s B5 allows.
 */
const RELIEF_QUIET_MS = 5000;
/**
 * Least time between two such GCs: under an attack that pauses, at most one GC and trim
 * (tens of ms) each 30 s; after the last flood, memory is back within 5-35 s.
 */
const RELIEF_MIN_GAP_MS = 30_000;

/** Where a listening server is bound. */
function boundAddress(server: NetServer): { host: string; port: number } | undefined {
  const addr = server.address();
  return addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : undefined;
}

export interface IngressOptions extends ProxyDeps {
  host: string;
  port: number;
  tls: TlsMaterial;
  /** Where the generated certificate is kept, for a reload that goes back to it. */
  stateDir?: string;
  /** `ingress.http_redirect`: a plain listener that redirects to the HTTPS port. */
  httpRedirect?: { host: string; port: number };
  log: Logger;
  /**
   * Bind with SO_REUSEPORT, so several worker processes share the port and the kernel spreads
   * connections over them (Linux; Node >= 22.12). Off by default.
   */
  reusePort?: boolean;
  /** `app.protocol`: HTTP/1.1 to the app (default), or cleartext HTTP/2 (h2c-forward.ts). */
  appProtocol?: 'http1' | 'h2c';
}

/** Connection-level counters, plain fields bumped once per connection, read by the metrics. */
export class ConnectionCounters {
  tlsHandshakes = 0;
  /** Failed handshakes by error code (OpenSSL's and Node's codes: a bounded set). */
  readonly tlsFailures: Record<string, number> = {};
  /** Bytes of closed client connections, TLS records included. */
  bytesReceived = 0;
  bytesSent = 0;
}

export class Ingress implements Concern<IngressSlice> {
  readonly name = 'ingress';
  #opts: IngressOptions;
  readonly #proxy: AppProxy;
  /** `app.protocol: h2c`: every request but WebSocket goes to the app over cleartext HTTP/2. */
  readonly #h2c: H2cForwarder | undefined;
  /** The listening socket; each connection is peeked, then handed to the terminator. */
  #tls: NetServer;
  readonly #terminator: TlsTerminator;
  #redirect: NetServer | undefined;
  /** Listeners replaced by a reload, closed to new connections; theirs finish. */
  readonly #retired = new Set<NetServer>();
  #h2: Http2Server;
  readonly #sockets = new Set<TLSSocket>();
  /** HTTP/2 sessions, each with its connection's verified client certificate (mTLS). */
  readonly #sessions = new Map<ServerHttp2Session, ClientCertHeader | undefined>();
  /** The client certificate of the connection being handed to the HTTP/2 server ('session' runs inside that emit). */
  #handoff: ClientCertHeader | undefined = undefined;
  #limits: EdgeLimits;
  readonly #rejections: Rejections;
  readonly #tunnels: WebSocketTunnels;
  readonly #sweep: Sweep;
  #h1: H1Deps;
  readonly #fdLimit = openFileLimit();
  #cap: number;
  #draining = false;
  #address: { host: string; port: number } | undefined;
  readonly counters = new ConnectionCounters();

  constructor(opts: IngressOptions) {
    // The engine's parser is checked before anything listens: a clear error, not a crash later.
    llhttp();
    this.#opts = opts;
    this.#proxy = new AppProxy(opts);
    const lim = resolveLimits(opts.limits);
    this.#limits = lim;
    this.#h2c = opts.appProtocol === 'h2c' ? new H2cForwarder(opts, lim) : undefined;
    const mib = (n: number): number => Math.round(n / 104857.6) / 10;
    const relief = new MemoryRelief({
      quietMs: RELIEF_QUIET_MS,
      minGapMs: RELIEF_MIN_GAP_MS,
      done: (before, after, cHeapTrimmed) =>
        opts.log.info('memory given back after connection abuse', {
          rss_before_mib: mib(before),
          rss_after_mib: mib(after),
          c_heap_trimmed: cHeapTrimmed,
        }),
    });
    this.#rejections = new Rejections(opts.log, opts.accessLog, relief, opts.trace);
    this.#tunnels = new WebSocketTunnels({
      upstream: opts.upstream,
      accessLog: opts.accessLog,
      trace: opts.trace,
      limits: lim,
      reject: (reason, remote, fields) => this.#rejections.record(reason, remote, fields),
    });
    // One sweep for every HTTP/1.1 deadline; a slow-headers client is cut at most 250 ms late.
    this.#sweep = new Sweep(
      Math.max(10, Math.min(250, lim.headersTimeoutMs / 4, lim.keepAliveTimeoutMs / 4)),
    );
    this.#h1 = this.#h1Deps(lim);
    this.#h2 = this.#h2Server(lim);
    this.#cap = connectionCap(lim.maxConnections, this.#fdLimit);
    this.#terminator = this.#tlsTerminator();
    this.#tls = this.#tlsServer(lim, this.#cap);
  }

  /** The TLS side: policy, certificates by SNI, handshake failures counted and logged as connection events. */
  #tlsTerminator(): TlsTerminator {
    const { tls: material, log } = this.#opts;
    const rejections = this.#rejections;
    const failures = this.counters.tlsFailures;
    return new TlsTerminator({
      material,
      stateDir: this.#opts.stateDir ?? '',
      log,
      secure: (socket) => this.#dispatch(socket),
      clientError: (err, socket) => {
        const code = err.code ?? 'OTHER';
        // OpenSSL's reasons are many but finite; a metric label set stays bounded all the same.
        const key = code in failures || Object.keys(failures).length < 32 ? code : 'OTHER';
        failures[key] = (failures[key] ?? 0) + 1;
        // A connection flood brings as many failed handshakes: one line a second, counted exactly.
        rejections.recordFlood('TLS_HANDSHAKE_FAILED', socket.remoteAddress, { error: code });
      },
    });
  }

  /** What the HTTP/1.1 engine hands requests, upgrades and refusals to. */
  #h1Deps(lim: EdgeLimits): H1Deps {
    const rejections = this.#rejections;
    return {
      limits: lim,
      sweep: this.#sweep,
      draining: () => this.#draining,
      serve: (ex, refused) => {
        // A refused request gets Pillion's own answer on either path.
        if (refused === undefined && this.#h2c) this.#h2c.forward(new H1Downstream(ex), false);
        else this.#proxy.handle(ex, refused);
      },
      upgrade: (head, verdict, socket, early, cc) =>
        this.#tunnels.handle(head, verdict, socket, early, this.#draining, cc),
      refuse: (reason, remote, code, method) => rejections.refuse(reason, remote, code, method),
      count: (reason, remote, status) => rejections.count(reason, remote, status),
    };
  }

  /** HTTP/2 on the core stream API: each stream is checked, then proxied or tunnelled. */
  #h2Server(lim: EdgeLimits): Http2Server {
    const rejections = this.#rejections;
    const h2 = createH2Server({
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
      // RFC 9113 §8.2.1: whitespace at either end makes a field invalid, so nghttp2 drops it
      // (false would pass it on). Node drops every invalid field and serves the request: see
      // test/edge/h2-malformed-fields-are-dropped-by-node-not-refused.test.ts.
      strictFieldWhitespaceValidation: true,
    });
    h2.on('stream', (stream, headers, _flags, raw: string[]) => {
      const verdict = checkH2(headers, raw.length / 2, lim);
      const cc = this.#sessions.get(stream.session as ServerHttp2Session);
      if (verdict.ok && isH2WebSocket(headers)) {
        if (this.#draining)
          this.#proxy.handle(new H2Exchange(stream, headers, raw, cc), ErrorCode.DRAINING);
        else this.#tunnels.handleH2(stream, headers, verdict.target, cc);
        return;
      }
      if (verdict.ok && this.#h2c)
        this.#h2c.forward(new H2Downstream(stream, headers, verdict.target, cc), true);
      else
        this.#proxy.handle(
          new H2Exchange(stream, headers, raw, cc),
          verdict.ok ? undefined : verdict.code,
        );
    });
    const guard = new H2Guard(rejections, lim.keepAliveTimeoutMs, lim.upstreamTimeoutMs);
    h2.on('session', (session) => {
      guard.watch(session);
      // Protocol errors end the session (nghttp2 sends GOAWAY): the peer's fault, logged once.
      // A client that closed its end (ECONNRESET, EPIPE) did nothing wrong: not a rejection.
      const remote = session.socket?.remoteAddress;
      session.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
        rejections.record('H2_PROTOCOL_ERROR', remote, {
          error: err.code,
          detail: err.message.slice(0, 80),
        });
      });
      this.#sessions.set(session, this.#handoff);
      session.once('close', () => this.#sessions.delete(session));
      if (this.#draining) session.close();
    });
    return h2;
  }

  /**
   * The listener: per-source cap, then the first byte read (plain HTTP gets its 400 there),
   * then the TLS handshake; ALPN picks the protocol.
   */
  #tlsServer(lim: EdgeLimits, cap: number): NetServer {
    const rejections = this.#rejections;
    const terminator = this.#terminator;
    const handshakeMs = this.#opts.tls.settings.handshakeTimeoutMs;
    const server = createNetServer(
      // Nagle off, as Node's own HTTP servers do: with it, the first response on a fresh
      // TLS 1.3 connection waits behind the session tickets for the client's delayed ACK.
      { noDelay: true },
      (socket) => {
        if (socket.destroyed) return;
        peekFirstByte(
          socket,
          handshakeMs,
          (s, hello, deadline) => terminator.accept(s, hello, deadline),
          // Logged once a second at most: a scanner sends many.
          (s) => rejections.recordFlood('PLAIN_HTTP', s.remoteAddress, { status: 400 }),
        );
      },
    );
    // Past the cap a connection is closed at accept, before any TLS work. The cap stays under
    // the open-file limit, so a flood is refused here, counted, instead of meeting EMFILE.
    server.maxConnections = cap;
    server.on('drop', (d?: { remoteAddress?: string }) =>
      rejections.recordFlood('MAX_CONNECTIONS', d?.remoteAddress),
    );
    if (lim.maxConnectionsPerSource > 0) {
      // Ahead of the listener's own handler, so a refused connection gets no TLS work.
      const perSource = new SourceCap(lim.maxConnectionsPerSource);
      server.prependListener('connection', (socket: Socket) => {
        if (perSource.admit(socket)) return;
        rejections.recordFlood('MAX_CONNECTIONS_PER_SOURCE', socket.remoteAddress);
        socket.destroy();
      });
    }
    return server;
  }

  /** Counters of certificate reloads, SNI errors and ticket key rotations. */
  tlsStats(): TlsStats {
    return { ...this.#terminator.stats };
  }

  /** Every certificate served now, with seconds to expiry. */
  certificates(): ServedCertificate[] {
    return this.#terminator.certificates();
  }

  /** Resolves once no request is in flight to the app; see AppProxy.quiesce, H2cForwarder.quiesce. */
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

  /**
   * Connection-level events so far (parser rejects, HTTP/2 abuse, failed TLS handshakes, caps
   * at accept), by reason: what `pillion_connections_rejected_total{reason}` exports.
   */
  connectionEvents(): Record<string, number> {
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
    const { host, port, log } = this.#opts;
    const tls = this.#terminator.material;
    await this.#listen(this.#tls, host, port);
    this.#address = boundAddress(this.#tls);
    this.#terminator.start();
    const redirect = this.#opts.httpRedirect;
    if (redirect) {
      const srv = redirectServer(() => this.#address?.port) as unknown as NetServer;
      try {
        await this.#listen(srv, redirect.host, redirect.port);
      } catch (err) {
        this.#terminator.close();
        await new Promise<void>((resolve) => this.#tls.close(() => resolve()));
        throw err;
      }
      this.#redirect = srv;
      const at = boundAddress(srv);
      log.info('redirecting plain HTTP to HTTPS', { address: at?.host, port: at?.port });
    }
    log.info('ingress listening', {
      address: this.#address?.host,
      port: this.#address?.port,
      protocols: ['h2', 'http/1.1'],
      cert: tls.certFile,
      generated_cert: tls.generated,
      cert_sha256: tls.fingerprint256,
      cert_expires: tls.validTo,
      cert_names: tls.subjectAltName,
      // The CA to trust once for the generated certificate (pillion cert trust).
      ...(tls.caFile ? { local_ca: tls.caFile } : {}),
      ...(tls.clientAuth
        ? { client_ca: tls.clientAuth.settings.ca, client_mode: tls.clientAuth.settings.mode }
        : {}),
      max_connections: this.#cap,
    });
    if (this.#cap < this.#limits.maxConnections) {
      // A warning only when the cap was asked for; the default lowered is expected. The
      // resolved config always carries a value: one other than the default was asked for.
      const set = this.#limits.maxConnections !== DEFAULT_LIMITS.maxConnections;
      log[set ? 'warn' : 'info']('connection cap lowered to fit the open-file limit', {
        max_connections: this.#limits.maxConnections,
        open_file_limit: this.#fdLimit,
        cap: this.#cap,
      });
    }
  }

  /** Binds `server`; a failure is a PILLION_LISTEN_FAILED and leaves nothing bound. */
  #listen(server: NetServer, host: string, port: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
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
            `cannot listen on ${host}:${port}: ${why} (${err.code}); choose another in ingress.listen or with --listen HOST:PORT`,
            { cause: err },
          ),
        );
      };
      server.once('error', onError);
      // Each worker's own listener on the shared port (ingress.workers > 1).
      const reusePort = this.#opts.reusePort === true;
      server.listen(reusePort ? { host, port, reusePort } : { host, port }, () => {
        server.off('error', onError);
        server.on('error', (err: NodeJS.ErrnoException) => this.#acceptFailed(err));
        resolve();
      });
    });
  }

  /**
   * Phase one of a reload of the ingress slice {host, port, limits}: a changed address is bound
   * now, beside the running listener (a bind failure throws and leaves it untouched). Commit
   * moves new connections to it and closes the old listener to new ones (its connections
   * finish); new limits apply to connections accepted after the commit.
   */
  async prepare(next: IngressSlice): Promise<Prepared> {
    const lim = resolveLimits(next.limits);
    const cap = connectionCap(lim.maxConnections, this.#fdLimit);
    const cur = this.#opts;
    const moved = next.host !== cur.host || next.port !== cur.port;
    const tls = next.tls ? await this.#terminator.prepare(next.tls) : undefined;
    const server = moved ? this.#tlsServer(lim, cap) : undefined;
    if (server) await this.#listen(server, next.host, next.port);
    return {
      commit: () => {
        tls?.commit();
        this.#opts = { ...this.#opts, host: next.host, port: next.port, limits: next.limits };
        this.#limits = lim;
        this.#cap = cap;
        this.#h1 = this.#h1Deps(lim);
        this.#h2 = this.#h2Server(lim);
        this.#proxy.setLimits(lim);
        this.#h2c?.setLimits(lim);
        if (server) {
          const old = this.#tls;
          this.#retired.add(old);
          old.close(() => this.#retired.delete(old));
          this.#tls = server;
          this.#address = boundAddress(server);
          this.#opts.log.info('ingress listening', {
            address: this.#address?.host,
            port: this.#address?.port,
            protocols: ['h2', 'http/1.1'],
            max_connections: cap,
          });
        } else this.#tls.maxConnections = cap;
      },
      abort: async () => {
        if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
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
    this.#terminator.close();
    const servers = [this.#tls, ...this.#retired, ...(this.#redirect ? [this.#redirect] : [])];
    const closed = Promise.all(
      servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))),
    ).then(() => {});
    this.#closeIdle(); // idle keep-alive connections; busy ones close after their response
    for (const s of this.#sessions.keys()) s.close(); // GOAWAY with the last stream id; in-flight streams finish
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
        this.#closeIdle();
        await sleep(100);
      }
    })();
    if ((await Promise.race([closed, gaveUp])) === 'deadline') {
      this.#opts.log.warn('drain timeout: closing connections still open', {
        code: ErrorCode.DRAIN_TIMEOUT,
        connections: this.#sockets.size,
        requests: this.#proxy.live.size + (this.#h2c?.live.size ?? 0),
      });
      // Requests still open are Pillion's to end: a 503 where a status can still be sent.
      this.#proxy.cutAll();
      this.#h2c?.cutAll();
      await sleep(100);
      for (const s of this.#sockets) s.destroy();
      await closed;
    }
    await sweep;
    this.#sweep.stop();
    this.#proxy.close();
    this.#h2c?.close();
    this.#rejections.flush();
    this.#opts.log.info('ingress stopped');
  }

  #dispatch(socket: TLSSocket): void {
    // mTLS: judged here, as the handshake completes and before any byte is read.
    let cc: ClientCertHeader | undefined;
    // The policy in force now, a resumed session's connection included (tls/client-auth.ts).
    const auth = this.#terminator.material.clientAuth;
    if (auth) {
      const a = auth.admit(socket);
      if (!a.ok) {
        this.#rejections.recordFlood(a.reason, socket.remoteAddress, a.fields);
        // close_notify, then the socket closes; Node has no API to send another TLS alert. A
        // reset from the peer meanwhile is no error of Pillion's (and must not throw).
        socket.on('error', () => {});
        socket.destroySoon();
        return;
      }
      cc = a.clientCert;
    }
    this.#sockets.add(socket);
    const counters = this.counters;
    counters.tlsHandshakes++;
    socket.once('close', () => {
      this.#sockets.delete(socket);
      counters.bytesReceived += socket.bytesRead;
      counters.bytesSent += socket.bytesWritten;
    });
    if (socket.alpnProtocol === 'h2') {
      this.#handoff = cc;
      this.#h2.emit('connection', socket);
      this.#handoff = undefined;
    } else new H1Conn(socket, this.#h1, cc);
  }

  /** Drain: HTTP/1.1 connections with no request under way close now. */
  #closeIdle(): void {
    for (const c of this.#sweep.items()) (c as H1Conn).closeIfIdle();
  }
}
