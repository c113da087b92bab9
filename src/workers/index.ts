// Workers owns the data-path worker processes (ingress.workers > 1): forks them, relays the
// supervisor's state to them, writes their lines, sums their counters, and replaces one that
// dies. The Ingress itself runs in each worker (worker-main.ts); the app stays in the primary.
import { type ChildProcess, fork } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Concern } from '../core/concern.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Address, FromWorker, PoolCounters, ReadyState, ToWorker } from './protocol.ts';

export interface PoolOptions {
  count: number;
  host: string;
  port: number;
  /** The worker entry module (src/worker-main.ts). */
  entry: string;
  /** Passed to each worker's Ingress as is (certificate, limits, access-log settings). */
  ingress: unknown;
  upstream(): Address | undefined;
  notReadyReason(): string | undefined;
  /** How long a request waits for readiness now (the restart window once ready). */
  readyTimeoutMs(): number;
  /** Writes whole log lines through the logs concern's sinks. */
  writeLines(lines: string): void;
  log: Logger;
}

/**
 * While the app is not ready, how often the reason (its text changes with the back-off) and
 * the wait are compared with what the workers were last sent. Address changes need no poll:
 * the supervisor calls relay() (onUpstream), and quiesce() sends the state first. While the
 * app is ready nothing runs, so an idle Pillion does not wake for this.
 */
const REASON_MS = 250;
/** Pause before starting a replacement again when the last one died before it listened. */
const RETRY_MS = 1000;
/** How long a worker told to give up its drain may take to exit before it is killed. */
const KILL_GRACE_MS = 2000;

/**
 * Refuses `workers` > 1 where SO_REUSEPORT does not spread connections over the listeners, or
 * where Node lacks `listen({ reusePort })` (22.12 / 23.1): there every worker but one would
 * get no connection, or the listen fails (nodejs/node#61018).
 */
export function checkWorkers(
  count: number,
  platform: string = process.platform,
  version: string = process.versions.node,
): void {
  if (count <= 1) return;
  const [major, minor] = version.split('.').map(Number);
  const nodeOk = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  if (platform !== 'linux' || !nodeOk) {
    throw new PillionError(
      ErrorCode.WORKERS_UNSUPPORTED,
      `workers: ${count} needs SO_REUSEPORT load balancing, which Pillion supports on Linux with Node >= 22.12; this is ${platform} with Node ${version}; set workers: 1`,
    );
  }
}

interface Slot {
  id: number;
  child: ChildProcess;
  exited: Promise<void>;
}

export class WorkerPool implements Concern {
  readonly name = 'workers';
  readonly #opts: PoolOptions;
  readonly #slots = new Map<number, Slot>();
  readonly #replies = new Map<number, (msg: FromWorker) => void>();
  #seq = 0;
  #port = 0;
  #relay: NodeJS.Timeout | undefined;
  #started = false;
  #sent = '';
  #stopping = false;

  constructor(opts: PoolOptions) {
    checkWorkers(opts.count);
    this.#opts = opts;
  }

  /** Where the workers listen (the real port when 0 was asked). */
  get address(): { host: string; port: number } | undefined {
    return this.#port ? { host: this.#opts.host, port: this.#port } : undefined;
  }

  /** PIDs of the workers now running, by worker number. */
  get pids(): Map<number, number | undefined> {
    return new Map([...this.#slots].map(([id, s]) => [id, s.child.pid]));
  }

  async start(): Promise<void> {
    const { count, port, log } = this.#opts;
    if (port !== 0) await portFree(this.#opts.host, port);
    // The first worker binds the port (the real one when 0 was asked); the others join it.
    this.#port = port;
    try {
      this.#port = await this.#spawn(1);
      await Promise.all(Array.from({ length: count - 1 }, (_, i) => this.#spawn(i + 2)));
    } catch (err) {
      await this.stop(AbortSignal.timeout(2000));
      throw err;
    }
    this.#started = true;
    this.relay();
    log.info('workers listening', {
      workers: count,
      port: this.#port,
      pids: [...this.#slots.values()].map((s) => s.child.pid),
    });
  }

  /** Sends the supervisor's state to the workers now, if it changed (the supervisor's onUpstream). */
  relay(): void {
    if (!this.#started || this.#stopping) return;
    this.#push();
    // The reason may change without an address change: looked at again while not ready.
    const waiting = this.#opts.upstream() === undefined;
    if (waiting && !this.#relay) {
      this.#relay = setInterval(() => this.relay(), REASON_MS);
    } else if (!waiting && this.#relay) {
      clearInterval(this.#relay);
      this.#relay = undefined;
    }
  }

  /** Holds new requests in every worker and waits until none is in flight to the app. */
  async quiesce(timeoutMs: number): Promise<void> {
    this.#push();
    await Promise.all([...this.#slots.values()].map((s) => this.#ask(s, 'quiesce', timeoutMs)));
  }

  /** Connections, requests in flight and rejections, summed over the workers. */
  async counters(): Promise<PoolCounters> {
    const all = await Promise.all([...this.#slots.values()].map((s) => this.#ask(s, 'stats', 0)));
    const sum: PoolCounters = { openConnections: 0, inflight: 0, rejections: {}, metrics: [] };
    for (const m of all) {
      if (m?.t !== 'stats') continue;
      if (m.metrics !== undefined) sum.metrics.push(m.metrics);
      sum.openConnections += m.openConnections;
      sum.inflight += m.inflight;
      for (const [k, v] of Object.entries(m.rejections))
        sum.rejections[k] = (sum.rejections[k] ?? 0) + v;
    }
    return sum;
  }

  /**
   * Every worker drains at once; when the deadline aborts, each closes what is left, as one
   * Ingress does. A worker still running a little after that is killed.
   */
  async stop(deadline: AbortSignal): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#relay);
    const slots = [...this.#slots.values()];
    for (const s of slots) this.#send(s, { t: 'stop' });
    const all = Promise.all(slots.map((s) => s.exited));
    const aborted = new Promise<void>((resolve) => {
      if (deadline.aborted) resolve();
      else deadline.addEventListener('abort', () => resolve(), { once: true });
    });
    if ((await Promise.race([all.then(() => 'done' as const), aborted])) !== 'done') {
      for (const s of slots) this.#send(s, { t: 'abort' });
      await Promise.race([all, sleep(KILL_GRACE_MS, undefined, { ref: false })]);
      for (const s of slots)
        if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
      await all;
    }
    this.#opts.log.info('workers stopped', { workers: slots.length });
  }

  #state(): ReadyState {
    const o = this.#opts;
    const up = o.upstream();
    return {
      up: up ? { host: up.host, port: up.port } : null,
      reason: up ? null : (o.notReadyReason() ?? null),
      readyTimeoutMs: o.readyTimeoutMs(),
    };
  }

  /** Sends the supervisor's state to every worker if it changed since the last send. */
  #push(): void {
    const state = this.#state();
    const key = JSON.stringify(state);
    if (key === this.#sent) return;
    this.#sent = key;
    for (const s of this.#slots.values()) this.#send(s, { t: 'state', ...state });
  }

  /** Forks worker `id` and resolves with the port it listens on once it does. */
  #spawn(id: number): Promise<number> {
    const { entry, host, ingress, log } = this.#opts;
    // The worker's stdout is a pipe to us: its lines are written here, whole.
    const child = fork(entry, [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
    // 'close' comes once the pipe has ended too, so every line of the worker has been written.
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.#relayLines(child);
    const slot: Slot = { id, child, exited };
    this.#slots.set(id, slot);
    // The newest state, which the others may not have yet: the next push sends it to all.
    const state = this.#state();
    return new Promise((resolve, reject) => {
      let listening = false;
      child.on('message', (msg: FromWorker) => {
        switch (msg.t) {
          case 'listening':
            listening = true;
            resolve(msg.port);
            return;
          case 'failed':
            reject(new PillionError(msg.code as PillionError['code'], msg.message));
            return;
          default:
            if ('seq' in msg) this.#replies.get(msg.seq)?.(msg);
        }
      });
      child.once('exit', (code, signal) => {
        if (this.#slots.get(id) === slot) this.#slots.delete(id);
        if (!listening) {
          reject(
            new PillionError(
              ErrorCode.WORKER_FAILED,
              `worker ${id} exited before it listened (code ${code}, signal ${signal})`,
            ),
          );
        }
        if (this.#stopping || !this.#port) return;
        log.warn('worker exited; starting a replacement', {
          worker: id,
          worker_pid: child.pid,
          code,
          signal,
        });
        this.#replace(id, listening ? 0 : RETRY_MS);
      });
      this.#send(slot, { t: 'init', id, host, port: this.#port, state, ingress });
    });
  }

  /**
   * Writes the worker's output up to its last newline; a read may end mid-line, and the rest
   * waits for the next read, so a line is never cut or mixed with another worker's.
   */
  #relayLines(child: ChildProcess): void {
    const stdout = child.stdout;
    if (!stdout) return;
    let tail = '';
    stdout.setEncoding('utf8');
    stdout.on('data', (chunk: string) => {
      const end = chunk.lastIndexOf('\n');
      if (end === -1) {
        tail += chunk;
        return;
      }
      this.#opts.writeLines(tail + chunk.slice(0, end + 1));
      tail = chunk.slice(end + 1);
    });
    stdout.on('end', () => {
      if (tail !== '') this.#opts.writeLines(`${tail}\n`);
    });
  }

  /** The others keep serving meanwhile: each worker has its own listener on the shared port. */
  #replace(id: number, delayMs: number): void {
    setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(id).then(
        () =>
          this.#opts.log.info('worker replaced', {
            worker: id,
            worker_pid: this.#slots.get(id)?.child.pid,
          }),
        (err: Error) => this.#opts.log.error(`worker ${id} failed to start: ${err.message}`),
      );
    }, delayMs);
  }

  /** Asks one worker and waits for its answer; a worker that exits first answers nothing. */
  #ask(s: Slot, t: 'quiesce' | 'stats', ms: number): Promise<FromWorker | undefined> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      const done = (msg?: FromWorker): void => {
        this.#replies.delete(seq);
        resolve(msg);
      };
      this.#replies.set(seq, done);
      void s.exited.then(() => done());
      this.#send(s, t === 'quiesce' ? { t, seq, ms } : { t, seq });
    });
  }

  #send(s: Slot, msg: ToWorker): void {
    if (s.child.connected) s.child.send(msg);
  }
}

/**
 * Fails when anything listens on the port already. With SO_REUSEPORT a second Pillion of the
 * same user would join the first one's port and take half its connections without an error; a
 * plain bind first is refused instead (EADDRINUSE), as with one worker.
 */
function portFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE') return resolve(); // the workers' own listen reports it
      reject(
        new PillionError(
          ErrorCode.LISTEN_FAILED,
          `cannot listen on ${host}:${port}: address already in use (EADDRINUSE); choose another in ingress.listen or with --listen HOST:PORT`,
          { cause: err },
        ),
      );
    });
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
