// Supervisor owns the app's process: spawning it, its output pipes, finding its port,
// readiness, signals and stopping it. Proxying, log formatting and exit are left to others.
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Concern } from '../core/concern.ts';
import type { Logger, LogOutput } from '../core/log.ts';
import { captureAppStream } from '../logs/app-log.ts';
import { isListening, listeningSockets, treeListeningSockets } from './port-detect.ts';
import { exitStatus, spawnApp } from './spawn.ts';

/** Where the app accepts connections. */
export interface Upstream {
  host: string;
  port: number;
}

export interface SupervisorOptions {
  /** The app's command; absent in attach mode (an app Pillion did not start). */
  command?: string[];
  /** The app's port; absent means detect it from the process tree. */
  appPort?: number;
  env: NodeJS.ProcessEnv;
  /** Grace between the stop signal and SIGKILL. */
  stopTimeoutMs: number;
  log: Logger;
  out: LogOutput;
}

const POLL_MS = 100;
/** How long the app's pipes may stay open after it exits (held by a grandchild) before we stop reading. */
const PIPE_LINGER_MS = 2000;

export class Supervisor implements Concern {
  readonly name = 'supervisor';
  readonly #opts: SupervisorOptions;
  #child: ChildProcess | undefined;
  #upstream: Upstream | undefined;
  #waiters = new Set<(u: Upstream | undefined) => void>();
  #exited = false;
  #resolveExit!: (status: number) => void;
  /** The app's exit status (code, or 128+signal), once it has exited and its output is drained. */
  readonly exited: Promise<number>;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.exited = new Promise((resolve) => {
      this.#resolveExit = resolve;
    });
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    const { command, log } = this.#opts;
    if (command) {
      const child = await spawnApp(command, this.#opts.env);
      this.#child = child;
      const pid = child.pid as number;
      log.info('app started', { app_pid: pid, command });
      const out = this.#opts.out;
      // Both pipes exist: spawnApp asks for stdout and stderr as pipes.
      const stdout = child.stdout as NonNullable<typeof child.stdout>;
      const stderr = child.stderr as NonNullable<typeof child.stderr>;
      const drained = Promise.all([
        captureAppStream(stdout, 'stdout', pid, out),
        captureAppStream(stderr, 'stderr', pid, out),
      ]);
      child.once('exit', async (code, signal) => {
        this.#exited = true;
        this.#settle(undefined);
        const status = exitStatus(code, signal);
        const linger = sleep(PIPE_LINGER_MS, 'linger', { ref: false });
        if ((await Promise.race([drained, linger])) === 'linger') {
          log.warn('app output still open after exit (held by a child process); closing it', {
            app_pid: pid,
          });
          stdout.destroy();
          stderr.destroy();
        }
        log.info('app exited', { app_pid: pid, code, signal, status });
        this.#resolveExit(status);
      });
    } else {
      log.info('attached to an app Pillion did not start', { port: this.#opts.appPort });
    }
    void this.#watchReadiness();
  }

  /** The app's address while it is ready, else undefined. Cheap: called per request. */
  upstream(): Upstream | undefined {
    return this.#upstream;
  }

  /** Waits up to `timeoutMs` for the app to become ready; undefined if it did not. */
  whenReady(timeoutMs: number): Promise<Upstream | undefined> {
    if (this.#upstream || this.#exited) return Promise.resolve(this.#upstream);
    return new Promise((resolve) => {
      const done = (u: Upstream | undefined): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve(u);
      };
      const timer = setTimeout(done, timeoutMs, undefined);
      this.#waiters.add(done);
    });
  }

  /** Forwards a signal to the app's process. */
  signal(sig: NodeJS.Signals): void {
    const child = this.#child;
    if (!child || this.#exited) return;
    try {
      process.kill(child.pid as number, sig);
    } catch {
      // It exited between the check and the kill.
    }
  }

  /** Sends the stop signal, waits the stop timeout, then SIGKILLs; resolves when the app is gone. */
  async stop(_deadline: AbortSignal, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child;
    if (!child || this.#exited) {
      if (!child) this.#resolveExit(0);
      await this.exited;
      return;
    }
    this.#opts.log.info('stopping app', { app_pid: child.pid, signal: sig });
    this.signal(sig);
    const timeout = sleep(this.#opts.stopTimeoutMs, 'timeout', { ref: false });
    if ((await Promise.race([this.exited, timeout])) === 'timeout') {
      this.#opts.log.warn('app did not stop in time; sending SIGKILL', {
        app_pid: child.pid,
        stop_timeout_ms: this.#opts.stopTimeoutMs,
      });
      this.signal('SIGKILL');
    }
    await this.exited;
  }

  #settle(u: Upstream | undefined): void {
    this.#upstream = u;
    for (const w of [...this.#waiters]) w(u);
  }

  async #watchReadiness(): Promise<void> {
    const { appPort, log } = this.#opts;
    const childPid = this.#child?.pid;
    const preferred = Number(this.#opts.env.PORT);
    while (!this.#exited && !this.#upstream) {
      if (appPort !== undefined) {
        if (await isListening(appPort)) {
          const s = [...(await listeningSockets()).values()].find((x) => x.port === appPort);
          const host = s?.host ?? '127.0.0.1';
          log.info('app ready', {
            port: appPort,
            host,
            how: 'port given; LISTEN seen in /proc/net/tcp',
          });
          this.#settle({ host, port: appPort });
          return;
        }
      } else if (childPid !== undefined) {
        const found = await treeListeningSockets(childPid);
        if (found.length > 0) {
          const pick = found.find((s) => s.port === preferred) ?? found[0];
          log.info('app ready', {
            port: pick.port,
            host: pick.host,
            how: "detected: the app's process tree listens on it (/proc/PID/fd matched to /proc/net/tcp)",
            ports: found.map((s) => s.port),
          });
          this.#settle({ host: pick.host, port: pick.port });
          return;
        }
      }
      await sleep(POLL_MS);
    }
  }
}
