// HTTP/2 abuse: floods of PING, SETTINGS, streams reset early (Rapid Reset, MadeYouReset) and
// streams refused for their headers (HPACK bomb) end the session with GOAWAY ENHANCE_YOUR_CALM.
// Streams stalled on the client's flow-control window are reset, and a session holding only
// stalled streams is closed. nghttp2 already ends CONTINUATION floods and, with
// maxSessionInvalidFrames, empty-DATA floods.
import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
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
  streams: Set<StreamWatch>;
}

/** A stream's send progress, sampled by the sweep. */
interface StreamWatch {
  stream: ServerHttp2Stream;
  /** Response bytes queued for the client at the last sample. */
  waiting: number;
  /** 'drain' events, counted from the first sample that found bytes waiting (-1 before). */
  drains: number;
  seenDrains: number;
  /** When the stream last made progress (or had nothing waiting). */
  since: number;
  /** Reset by Pillion itself: not the client's reset. */
  ours: boolean;
}

/** How often stalled streams are looked for. */
const STALL_SWEEP_MS = 250;

/** Watches HTTP/2 sessions for floods; one sweep timer serves them all. */
export class H2Guard {
  readonly #rejections: Rejections;
  readonly #idleMs: number;
  readonly #stallMs: number;
  readonly #watches = new Set<Watch>();
  #timer: NodeJS.Timeout | undefined;
  #lastStallSweep = 0;

  /**
   * `idleMs`: a session with no open stream, or only stalled ones, for this long is closed.
   * `stallMs`: a stream whose response makes no progress towards the client for this long
   * (its flow-control window stays shut) is reset.
   */
  constructor(rejections: Rejections, idleMs: number, stallMs: number) {
    this.#rejections = rejections;
    this.#idleMs = idleMs;
    this.#stallMs = stallMs;
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
      streams: new Set(),
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
    // PINGs or WINDOW_UPDATEs arrive; a stream waiting on a slow app keeps it open. Open
    // streams that are all stalled on the client's window count as idle too (#checkStalls).
    let open = 0;
    const arm = (): NodeJS.Timeout => setTimeout(() => session.close(), this.#idleMs).unref();
    let idle: NodeJS.Timeout | undefined = arm();
    session.once('close', () => clearTimeout(idle));
    session.on('stream', (stream) => {
      w.accepted++;
      open++;
      clearTimeout(idle);
      idle = undefined;
      const sw: StreamWatch = {
        stream,
        waiting: 0,
        drains: -1,
        seenDrains: 0,
        since: Date.now(),
        ours: false,
      };
      w.streams.add(sw);
      // 'close' and 'aborted' come at most once: plain listeners, without once()'s wrappers.
      stream.on('close', () => {
        w.streams.delete(sw);
        if (--open === 0 && !session.closed && !session.destroyed) idle = arm();
      });
      // 'aborted': the stream closed before its response ended. Reset by the client (Rapid
      // Reset), or by nghttp2 for a frame of the client's that broke the stream (MadeYouReset):
      // both are the client's doing. A stream Pillion destroys itself (the app cut its response
      // short, the session ended) is already destroyed here, and is not counted.
      stream.on('aborted', () => {
        if (!stream.destroyed && !sw.ours) this.#count(w, 'resets', 'H2_RAPID_RESET');
      });
      this.#checkRefused(w);
    });
    // Refused streams raise no event: a sweep compares the last stream id nghttp2 processed
    // with the streams that reached Pillion. The same sweep looks for stalled streams.
    this.#timer ??= setInterval(() => {
      const now = Date.now();
      const stalls = now - this.#lastStallSweep >= STALL_SWEEP_MS;
      if (stalls) this.#lastStallSweep = now;
      for (const x of this.#watches) {
        this.#checkRefused(x);
        if (stalls) this.#checkStalls(x, now);
      }
    }, 50).unref();
  }

  /**
   * Zero-window dribble: response bytes wait on a window the client keeps shut (or opens a
   * byte at a time). Progress is a queued chunk handed to the client, or a drain; a stream
   * without progress for `stallMs` is reset (CANCEL), which also cancels its app request; a
   * session whose open streams have all been stalled for `idleMs` is closed like an idle one.
   */
  #checkStalls(w: Watch, now: number): void {
    if (w.done || w.session.destroyed || w.streams.size === 0) return;
    let allStalled = true;
    for (const sw of w.streams) {
      const s = sw.stream;
      const waiting = s.destroyed ? 0 : s.bufferSize;
      if (waiting > 0 && sw.drains < 0) {
        // Most streams never have bytes waiting at a sample (a small response goes out whole
        // at once): drains are listened for from the first sample that finds some, and the
        // stall is timed from that sample (at most one sweep later than from its last drain).
        sw.drains = 0;
        sw.since = now;
        s.on('drain', () => sw.drains++);
      }
      if (waiting === 0 || waiting < sw.waiting || sw.drains !== sw.seenDrains) sw.since = now;
      sw.waiting = waiting;
      sw.seenDrains = sw.drains;
      if (waiting === 0 || now - sw.since < this.#idleMs) allStalled = false;
      if (waiting > 0 && now - sw.since >= this.#stallMs && !sw.ours) {
        sw.ours = true;
        s.close(constants.NGHTTP2_CANCEL);
      }
    }
    if (allStalled) this.#end(w, 'H2_STALLED');
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
    if (w[what] > H2_BUDGET[what]) this.#end(w, reason, what !== 'resets');
  }

  #end(w: Watch, reason: string, now = false): void {
    if (w.done) return;
    w.done = true;
    this.#rejections.record(reason, w.remote);
    const s = w.session;
    if (s.destroyed) return;
    s.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    // GOAWAY is flushed before the socket closes; a peer still flooding gets no more reads.
    // A PING or SETTINGS flood is cut at once: nghttp2 works through a whole TLS record (up to
    // 16 KiB, some 960 PINGs) per read and would first send an ACK for each; from a frame's
    // own event the GOAWAY still goes out. From a stream's close it would not, so there the
    // session ends on the next turn.
    if (now) s.destroy();
    else setImmediate(() => s.destroy());
  }
}
