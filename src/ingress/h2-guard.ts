// HTTP/2 abuse: floods of PING, SETTINGS, client resets (Rapid Reset) and streams refused for
// their headers (HPACK bomb) end the session with GOAWAY ENHANCE_YOUR_CALM. nghttp2 already
// ends CONTINUATION floods and, with maxSessionInvalidFrames, empty-DATA floods.
import { constants, type ServerHttp2Session } from 'node:http2';
import type { Rejections } from './rejections.ts';

/** Per session and per window: more than this many of each is a flood. */
export const H2_BUDGET = {
  pings: 100,
  settings: 100,
  resets: 200,
  refused: 100,
  windowMs: 10_000,
} as const;

interface Watch {
  session: ServerHttp2Session;
  remote: string | undefined;
  windowStart: number;
  pings: number;
  settings: number;
  resets: number;
  accepted: number;
  refusedBase: number;
  done: boolean;
}

/** Watches HTTP/2 sessions for floods; one sweep timer serves them all. */
export class H2Guard {
  readonly #rejections: Rejections;
  readonly #idleMs: number;
  readonly #watches = new Set<Watch>();
  #timer: NodeJS.Timeout | undefined;

  /** `idleMs`: a session with no open stream for this long is closed (GOAWAY, then close). */
  constructor(rejections: Rejections, idleMs: number) {
    this.#rejections = rejections;
    this.#idleMs = idleMs;
  }

  watch(session: ServerHttp2Session): void {
    const w: Watch = {
      session,
      remote: session.socket?.remoteAddress,
      windowStart: Date.now(),
      pings: 0,
      settings: 0,
      resets: 0,
      accepted: 0,
      refusedBase: 0,
      done: false,
    };
    this.#watches.add(w);
    session.once('close', () => {
      w.done = true;
      this.#watches.delete(w);
      if (this.#watches.size === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    });
    session.on('ping', () => this.#count(w, 'pings', 'H2_PING_FLOOD'));
    session.on('remoteSettings', () => this.#count(w, 'settings', 'H2_SETTINGS_FLOOD'));
    // Keep-alive for HTTP/2: the session is idle while no stream is open, however many
    // PINGs or WINDOW_UPDATEs arrive; a stream waiting on a slow app keeps it open.
    let open = 0;
    const arm = (): NodeJS.Timeout => setTimeout(() => session.close(), this.#idleMs).unref();
    let idle: NodeJS.Timeout | undefined = arm();
    session.once('close', () => clearTimeout(idle));
    session.on('stream', (stream) => {
      w.accepted++;
      open++;
      clearTimeout(idle);
      idle = undefined;
      stream.once('close', () => {
        if (--open === 0 && !session.closed && !session.destroyed) idle = arm();
      });
      stream.once('aborted', () => this.#count(w, 'resets', 'H2_RAPID_RESET'));
      this.#checkRefused(w);
    });
    // Refused streams raise no event: a sweep compares the last stream id nghttp2 processed
    // with the streams that reached Pillion.
    this.#timer ??= setInterval(() => {
      for (const x of this.#watches) this.#checkRefused(x);
    }, 50).unref();
  }

  #roll(w: Watch): void {
    const now = Date.now();
    if (now - w.windowStart < H2_BUDGET.windowMs) return;
    w.windowStart = now;
    w.pings = 0;
    w.settings = 0;
    w.resets = 0;
    w.refusedBase = this.#refused(w);
  }

  #refused(w: Watch): number {
    const last = w.session.destroyed ? 0 : (w.session.state.lastProcStreamID ?? 0);
    return Math.max(0, (last + 1) / 2 - w.accepted);
  }

  #checkRefused(w: Watch): void {
    if (w.done || w.session.destroyed) return;
    this.#roll(w);
    if (this.#refused(w) - w.refusedBase > H2_BUDGET.refused) this.#end(w, 'H2_REFUSED_STREAMS');
  }

  #count(w: Watch, what: 'pings' | 'settings' | 'resets', reason: string): void {
    if (w.done) return;
    this.#roll(w);
    w[what]++;
    if (w[what] > H2_BUDGET[what]) this.#end(w, reason);
  }

  #end(w: Watch, reason: string): void {
    if (w.done) return;
    w.done = true;
    this.#rejections.record(reason, w.remote);
    const s = w.session;
    if (s.destroyed) return;
    s.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    // GOAWAY is flushed before the socket closes; a peer still flooding gets no more reads.
    setImmediate(() => s.destroy());
  }
}
