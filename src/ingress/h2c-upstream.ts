// Cleartext HTTP/2 (h2c, prior knowledge: RFC 9113 §3.3) sessions to the app, for
// `app.protocol: h2c`. One session carries many streams, so the pool stays small; a session the
// app closed, reset or sent GOAWAY on leaves the pool, and the next stream opens a new one.
import { type ClientHttp2Session, connect, constants } from 'node:http2';
import type { Upstream } from './proxy.ts';

/** Sessions per app address; a new one opens only when every one is at the app's stream limit. */
const MAX_SESSIONS = 4;

/** Called with the session to open a stream on, or with why none could be had. */
export type SessionCallback = (
  err: NodeJS.ErrnoException | undefined,
  s?: ClientHttp2Session,
) => void;

interface Entry {
  session: ClientHttp2Session;
  /** Streams opened on it and not closed yet. */
  active: number;
  /** Waiting for the connection; undefined once connected. */
  waiting: SessionCallback[] | undefined;
}

export class H2cPool {
  readonly #entries: Entry[] = [];
  /** `host:port` the sessions in the pool go to. */
  #key = '';

  /** Streams open on the pool's sessions. */
  get active(): number {
    let n = 0;
    for (const e of this.#entries) n += e.active;
    return n;
  }

  /**
   * Hands `cb` a connected session to `up` with room for a stream, synchronously when one is
   * open; otherwise once a new one connects (or with the connect error). The caller opens one
   * stream on it and reports its close with `release`.
   */
  acquire(up: Upstream, cb: SessionCallback): void {
    const key = `${up.host}:${up.port}`;
    // The app moved (restarted on another port): sessions to the old address are let go.
    if (key !== this.#key) {
      this.#key = key;
      for (const e of this.#entries.splice(0)) e.session.close();
    }
    // The least busy session with room under the app's stream limit; a new one only when none
    // has room. Past MAX_SESSIONS nghttp2 queues streams on the least busy session until the
    // app frees one. One session for all is what a single-threaded proxy wants: fewer sockets,
    // and frames of many streams share each write.
    let best: Entry | undefined;
    let least: Entry | undefined;
    for (const e of this.#entries) {
      if (least === undefined || e.active < least.active) least = e;
      const limit = e.session.remoteSettings.maxConcurrentStreams ?? 100;
      if (e.active < limit && (best === undefined || e.active < best.active)) best = e;
    }
    best ??= this.#entries.length < MAX_SESSIONS || least === undefined ? this.#open(up) : least;
    if (best.waiting) best.waiting.push(cb);
    else cb(undefined, best.session);
  }

  /** Counts a stream opened on `s`; hand what it returns to `closed` when the stream closes. */
  opened(s: ClientHttp2Session): object | undefined {
    const e = this.#entries.find((x) => x.session === s);
    if (e) e.active++;
    return e;
  }

  closed(entry: object | undefined): void {
    if (entry) (entry as Entry).active--;
  }

  /** Closes the sessions that carry no stream (GOAWAY, then the socket), keeping busy ones. */
  closeIdle(): void {
    for (const e of [...this.#entries]) {
      if (e.active === 0 && !e.waiting) {
        this.#drop(e);
        e.session.close();
      }
    }
  }

  /** Closes every session; streams still open on them are cancelled. */
  close(): void {
    for (const e of this.#entries.splice(0)) e.session.destroy();
  }

  #open(up: Upstream): Entry {
    const session = connect(`http://${up.host}:${up.port}`, {
      // Pillion never accepts pushed streams from the app (RFC 9113 §8.4).
      settings: { enablePush: false },
    });
    // Pooled connections do not keep Pillion running; the ingress closes them on stop.
    session.unref();
    const e: Entry = { session, active: 0, waiting: [] };
    this.#entries.push(e);
    const settle = (err: NodeJS.ErrnoException | undefined): void => {
      const waiting = e.waiting;
      if (!waiting) return;
      e.waiting = undefined;
      for (const cb of waiting) cb(err, err ? undefined : session);
    };
    session.once('connect', () => settle(undefined));
    session.on('error', (err: NodeJS.ErrnoException) => {
      this.#drop(e);
      settle(err);
    });
    // The app is going away (a restart, its own drain): no new stream goes on this session;
    // streams it already took finish on it.
    session.once('goaway', () => this.#drop(e));
    session.once('close', () => {
      this.#drop(e);
      const err: NodeJS.ErrnoException = new Error('the app closed the connection');
      err.code = 'ECONNRESET';
      settle(err);
    });
    return e;
  }

  #drop(e: Entry): void {
    const i = this.#entries.indexOf(e);
    if (i !== -1) this.#entries.splice(i, 1);
  }
}

/** RST_STREAM codes a stream may be sent again after: the app did not process it (§8.7). */
export const UNPROCESSED = new Set([constants.NGHTTP2_REFUSED_STREAM]);
