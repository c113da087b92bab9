// An open WebSocket tunnel: bytes flow both ways through frame gates that follow boundaries and
// never rewrite a byte. Client frames over the caps end the tunnel with close code 1009; drain
// ends it with 1001. The client side is a TLS socket (HTTP/1.1) or an HTTP/2 stream (RFC 8441).
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { EdgeLimits } from './limits.ts';
import { closeFrame, FrameGate, type GateStop } from './ws-frames.ts';

/** A client side: anything that streams bytes and has an idle timer. */
export type TunnelClient = Duplex & { setTimeout(ms: number, cb: () => void): unknown };

export interface TunnelHooks {
  /** A client frame or message over the caps ended the tunnel (once). */
  onOver(kind: 'frame' | 'message'): void;
  /** Bytes passed to the client. */
  count(n: number): void;
  /** The tunnel is closed (once). */
  onClose(end: TunnelEnd): void;
}

/** How a tunnel ended, for its span (metrics/otlp-export.ts). */
export interface TunnelEnd {
  /** Bytes passed from the client to the app (frames as they came). */
  bytesIn: number;
  /** The code of the first close frame each peer sent (1005: one without a code). */
  clientCloseCode: number | undefined;
  appCloseCode: number | undefined;
  /** The code Pillion sent the client when it ended the tunnel itself (1001 drain, 1009 caps). */
  pillionCloseCode: number | undefined;
  /** Who ended it first: a close frame or the end of a connection, or Pillion's own close. */
  closedBy: 'client' | 'app' | 'pillion';
}

/** One direction: `from` → `to` through a gate, with backpressure. */
class FramePipe {
  readonly #from: Duplex;
  readonly #to: Duplex;
  readonly #gate: FrameGate;
  readonly #count: (n: number) => void;
  #untilBoundary = false;
  #stopped = false;
  #onStop: (why: GateStop) => void;
  /** Told once, when `from` sends its close frame or ends (who ended the tunnel first). */
  readonly #onEnding: () => void;
  #ending = false;

  constructor(
    from: Duplex,
    to: Duplex,
    gate: FrameGate,
    count: (n: number) => void,
    onStop: (why: GateStop) => void,
    onEnding: () => void,
  ) {
    this.#from = from;
    this.#to = to;
    this.#gate = gate;
    this.#count = count;
    this.#onStop = onStop;
    this.#onEnding = onEnding;
    from.on('data', this.#onData);
    from.once('end', () => {
      this.#ended();
      if (!this.#stopped) to.end();
    });
    from.once('close', () => this.#ended());
  }

  /** The close code `from` sent, if any. */
  get closeCode(): number | undefined {
    return this.#gate.closeCode;
  }

  #ended(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#onEnding();
  }

  /** Passes bytes that came before the tunnel opened. */
  early(chunk: Buffer): void {
    if (chunk.length > 0) this.#onData(chunk);
  }

  /** Stops after the frame in flight, then calls `then` (at once when between frames). */
  stopAtBoundary(then: () => void): void {
    // A gate stops only between frames: a stopped pipe is at a boundary already.
    if (this.#stopped) {
      then();
      return;
    }
    this.#untilBoundary = true;
    this.#onStop = then;
    if (this.#gate.atBoundary) this.#halt('boundary');
  }

  #onData = (chunk: Buffer): void => {
    if (this.#stopped) return;
    const { pass, stop } = this.#gate.feed(chunk, this.#untilBoundary);
    let ok = true;
    for (const b of pass) {
      if (b.length === 0) continue;
      this.#count(b.length);
      if (this.#to.writable) ok = this.#to.write(b) && ok;
    }
    if (!this.#ending && this.#gate.closeCode !== undefined) this.#ended();
    if (stop) this.#halt(stop);
    else if (!ok) {
      this.#from.pause();
      this.#to.once('drain', () => this.#from.resume());
    }
  };

  #halt(why: GateStop): void {
    this.#stopped = true;
    this.#from.off('data', this.#onData);
    // Keep reading (and dropping) so the peer's close frame and FIN are seen.
    this.#from.resume();
    this.#onStop(why);
  }
}

export class WsTunnel {
  readonly #client: TunnelClient;
  readonly #app: Socket;
  readonly #toApp: FramePipe;
  readonly #toClient: FramePipe;
  readonly #hooks: TunnelHooks;
  #closing = false;
  #closed = false;
  #bytesIn = 0;
  #pillionCode: number | undefined = undefined;
  #closedBy: TunnelEnd['closedBy'] | undefined = undefined;

  constructor(
    client: TunnelClient,
    app: Socket,
    early: { client: Buffer; app: Buffer },
    limits: EdgeLimits,
    hooks: TunnelHooks,
  ) {
    this.#client = client;
    this.#app = app;
    this.#hooks = hooks;
    app.on('error', () => {});
    client.on('error', () => {});
    // Frames are latency-bound messages: no Nagle delay on either side (an HTTP/2 stream has
    // no such switch; its session's socket is shared).
    app.setNoDelay(true);
    if ('setNoDelay' in client && typeof client.setNoDelay === 'function') client.setNoDelay(true);
    const idle = limits.tunnelIdleTimeoutMs;
    client.setTimeout(idle, () => client.destroy());
    app.setTimeout(idle, () => app.destroy());
    const caps = {
      maxFrameBytes: limits.websocketMaxFrameBytes,
      maxMessageBytes: limits.websocketMaxMessageBytes,
    };
    this.#toApp = new FramePipe(
      client,
      app,
      new FrameGate(caps),
      (n) => {
        this.#bytesIn += n;
      },
      (why) => {
        if (why !== 'boundary') this.#over(why);
      },
      () => {
        this.#closedBy ??= 'client';
      },
    );
    this.#toClient = new FramePipe(
      app,
      client,
      new FrameGate(),
      hooks.count,
      () => {},
      () => {
        this.#closedBy ??= 'app';
      },
    );
    client.once('close', this.#end);
    app.once('close', this.#end);
    this.#toApp.early(early.client);
    this.#toClient.early(early.app);
  }

  /** Drain: each direction finishes its frame in flight, then both sides get close code 1001. */
  goAway(graceMs: number): void {
    this.#closeBoth(1001, 1001, graceMs);
  }

  #over(kind: 'frame' | 'message'): void {
    if (this.#closing) return;
    this.#hooks.onOver(kind);
    // RFC 6455 §7.4.1: 1009, the message is too big to process. The app is told the client
    // went away; nothing of the frame over the cap reached it.
    this.#closeBoth(1009, 1001, 1000);
  }

  #closeBoth(clientCode: number, appCode: number, graceMs: number): void {
    if (this.#closing || this.#closed) return;
    this.#closing = true;
    this.#closedBy ??= 'pillion';
    this.#pillionCode = clientCode;
    const finish = (sock: Duplex, frame: Buffer): void => {
      if (sock.writable) sock.end(frame);
    };
    // Whatever the peers do (answer, vanish, stall mid-frame), both sides are gone after this.
    setTimeout(() => {
      this.#client.destroy();
      this.#app.destroy();
    }, graceMs).unref();
    this.#toApp.stopAtBoundary(() => finish(this.#app, closeFrame(appCode, true)));
    this.#toClient.stopAtBoundary(() => finish(this.#client, closeFrame(clientCode, false)));
  }

  #end = (): void => {
    if (this.#closed) return;
    this.#closed = true;
    // While closing, each side gets its close frame and its grace; otherwise one side gone
    // ends the other, after what is already written to it is flushed.
    if (!this.#closing) {
      for (const s of [this.#client, this.#app] as Duplex[]) {
        if (s.destroyed) continue;
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      }
    }
    this.#hooks.onClose({
      bytesIn: this.#bytesIn,
      clientCloseCode: this.#toApp.closeCode,
      appCloseCode: this.#toClient.closeCode,
      pillionCloseCode: this.#pillionCode,
      closedBy: this.#closedBy ?? 'client',
    });
  };
}
