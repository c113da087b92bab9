// A connection flood for R7: bounded waves of plain TCP connects and idle TLS handshakes from
// several 127.0.0.x source addresses, and a legitimate probe (HTTP/1.1 and HTTP/2 requests over
// kept-alive connections) running beside it. Shared by the test and bench/fd-exhaustion.ts.
import { writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as h2connect } from 'node:http2';
import { Agent, request } from 'node:https';
import { type Socket, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { APP_CMD, type Pillion, startPillion, tempDir } from '../e2e/harness.ts';

export { fdCount } from '../e2e/harness.ts';

/**
 * The real CLI (bin/pillion.js) in front of the test app, under an open-file limit of `nofile` (prlimit), with
 * `ingress.limits.max_connections` and `max_connections_per_source` when given.
 */
export function startUnderFdLimit(
  nofile: number,
  maxConnections?: number,
  perSource?: number,
): Pillion {
  const file = `${tempDir()}/pillion.yaml`;
  const set = [
    maxConnections ? `    max_connections: ${maxConnections}\n` : '',
    perSource ? `    max_connections_per_source: ${perSource}\n` : '',
  ].join('');
  const limits = set ? `  limits:\n${set}` : '';
  // The flood holds silent connections for as long as a wave takes, which under load passes the
  // 10 s handshake timeout; a close from that timeout would look like a refusal to the flood.
  // This test is about the connection cap, so the timeout is out of its way.
  const tls = '  tls:\n    handshake_timeout: 5m\n';
  writeFileSync(
    file,
    `app:\n  command: ${JSON.stringify(APP_CMD)}\ningress:\n  listen: 127.0.0.1:0\n${tls}${limits}`,
  );
  return startPillion(['run', '--config', file], {
    wrap: ['prlimit', `--nofile=${nofile}:${nofile}`, '--'],
    bin: true,
  });
}

export interface FloodOptions {
  port: number;
  attempts: number;
  /** Connections open at once; each wave is held, then closed, before the next. */
  wave: number;
  /** Every n-th attempt completes a TLS handshake and then sits idle; the rest send nothing. */
  tlsEvery: number;
  /** Source addresses 127.0.0.2 … 127.0.0.(1 + sources). */
  sources: number;
  /** Connects started per batch within a wave, so the SYNs come in bursts the backlog holds. */
  batch?: number;
  /** Called after each wave is held, before it is closed. */
  onHeld?: (held: number) => void;
}

export interface FloodResult {
  attempts: number;
  /** Connections that stood until the flood closed them. */
  held: number;
  /** Connections the server closed first: refused at the cap. */
  refused: number;
  /** Connects that failed outright (the client side's own errors). */
  failed: number;
  /** For refused plain connects, ms from the client's `connect` to the peer's close. */
  refusalMs: number[];
}

interface Attempt {
  socket: Socket;
  tls: boolean;
  connectedAt: number;
  closedAt: number;
  closedByPeer: boolean;
  failed: boolean;
  /** Set when the flood itself closes it. */
  ours: boolean;
}

/** Runs the flood to the end; every connection it opened is closed when it resolves. */
export async function flood(opts: FloodOptions): Promise<FloodResult> {
  const res: FloodResult = { attempts: 0, held: 0, refused: 0, failed: 0, refusalMs: [] };
  const batch = opts.batch ?? 250;
  while (res.attempts < opts.attempts) {
    const size = Math.min(opts.wave, opts.attempts - res.attempts);
    const wave: Attempt[] = [];
    for (let done = 0; done < size; done += batch) {
      const started: Promise<void>[] = [];
      for (let i = done; i < Math.min(size, done + batch); i++) {
        started.push(open(opts, res.attempts + i, wave));
      }
      await Promise.all(started);
    }
    res.attempts += size;
    // Refusals close a beat after the connect: wait until no more come (bounded).
    let seen = -1;
    for (let i = 0; i < 40; i++) {
      const now = wave.filter((a) => a.closedByPeer || a.failed).length;
      if (now === seen) break;
      seen = now;
      await new Promise((r) => setTimeout(r, 100));
    }
    const standing = wave.filter((a) => !a.closedByPeer && !a.failed);
    opts.onHeld?.(standing.length);
    const closed = wave.map((a) =>
      a.socket.closed ? undefined : new Promise((r) => a.socket.once('close', r)),
    );
    for (const a of wave) {
      if (a.closedByPeer) {
        res.refused++;
        if (!a.tls) res.refusalMs.push(a.closedAt - a.connectedAt);
      } else if (a.failed) res.failed++;
      else res.held++;
      a.ours = true;
      a.socket.destroy();
    }
    await Promise.all(closed);
  }
  return res;
}

function open(opts: FloodOptions, n: number, into: Attempt[]): Promise<void> {
  const useTls = n % opts.tlsEvery === 0;
  const raw = tcpConnect({
    host: '127.0.0.1',
    port: opts.port,
    localAddress: `127.0.0.${2 + (n % opts.sources)}`,
  });
  const a: Attempt = {
    socket: raw,
    tls: useTls,
    connectedAt: 0,
    closedAt: 0,
    closedByPeer: false,
    failed: false,
    ours: false,
  };
  into.push(a);
  return new Promise<void>((resolve) => {
    raw.once('connect', () => {
      a.connectedAt = performance.now();
      if (!useTls) resolve();
    });
    raw.on('error', () => {});
    if (useTls) {
      const t = tlsConnect({
        socket: raw,
        servername: 'localhost',
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      });
      t.on('error', () => {});
      t.once('secureConnect', () => resolve());
      t.once('close', () => raw.destroy());
    }
    // Refused: the server closed (FIN or RST) before the flood let go of it.
    const byPeer = (): void => {
      if (a.ours || a.closedByPeer || a.failed) return;
      a.closedAt = performance.now();
      if (a.connectedAt > 0) a.closedByPeer = true;
      else a.failed = true;
      resolve();
    };
    raw.once('end', byPeer);
    raw.once('close', byPeer);
  });
}

export interface ProbeResult {
  ok: number;
  failed: number;
  latencyMs: number[];
  errors: string[];
}

/**
 * A legitimate client: HTTP/1.1 and HTTP/2 requests in turn, `perSecond` in all, over
 * connections it opened before the flood and keeps alive (a new one only if one closes).
 */
export class Probe {
  readonly #port: number;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  #session: ClientHttp2Session | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #pending = new Set<Promise<void>>();
  readonly result: ProbeResult = { ok: 0, failed: 0, latencyMs: [], errors: [] };
  #n = 0;

  constructor(port: number) {
    this.#port = port;
  }

  /** One request of each kind, then the steady rate. Rejects if the warm-up fails. */
  async start(perSecond = 10): Promise<void> {
    await this.#h1();
    await this.#h2();
    this.#timer = setInterval(() => this.#tick(), 1000 / perSecond);
  }

  #tick(): void {
    const t0 = performance.now();
    const p = (this.#n++ % 2 === 0 ? this.#h1() : this.#h2()).then(
      () => {
        this.result.ok++;
        this.result.latencyMs.push(performance.now() - t0);
      },
      (err: Error) => {
        this.result.failed++;
        if (this.result.errors.length < 20) this.result.errors.push(err.message);
      },
    );
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  #h1(): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: this.#port, path: '/probe', agent: this.#agent, timeout: 5000 },
        (res) => {
          res.resume();
          res.on('end', () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`h1 ${res.statusCode}`)),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('h1 timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  #h2(): Promise<void> {
    if (!this.#session || this.#session.closed || this.#session.destroyed) {
      this.#session = h2connect(`https://127.0.0.1:${this.#port}`, { rejectUnauthorized: false });
      this.#session.on('error', () => {});
    }
    const session = this.#session;
    return new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/probe' });
      req.setTimeout(5000, () => req.close());
      let status = 0;
      req.on('response', (h) => {
        status = Number(h[':status']);
      });
      req.resume();
      req.on('end', () => (status === 200 ? resolve() : reject(new Error(`h2 ${status}`))));
      req.on('close', () => reject(new Error(`h2 stream closed (${req.rstCode})`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** Stops the rate, waits for requests in flight, closes the connections. */
  async stop(): Promise<ProbeResult> {
    clearInterval(this.#timer);
    await Promise.all(this.#pending);
    this.#agent.destroy();
    this.#session?.close();
    return this.result;
  }
}
