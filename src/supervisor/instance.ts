import type { ChildProcess } from 'node:child_process';
import type { Logger, LogOutput } from '../core/log.ts';
import { captureAppStream } from '../logs/app-log.ts';
import { exitStatus, spawnApp } from './spawn.ts';

/** How one run of the app ended. */
export interface AppExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The code, or 128+N for death by signal N. */
  status: number;
  /** How long it ran, in ms. */
  ranMs: number;
}

/** How long the app's pipes may stay open after it exits (held by a grandchild) before we stop reading. */
const PIPE_LINGER_MS = 2000;

/** One run of the app's process: spawned, its output captured, signalled, reaped. */
export class AppInstance {
  readonly pid: number;
  readonly startedAt = performance.now();
  /** Resolves once the process has exited and its output is drained. */
  readonly exited: Promise<AppExit>;
  readonly #group: boolean;
  #gone = false;

  private constructor(child: ChildProcess, group: boolean, log: Logger, out: LogOutput) {
    this.#group = group;
    this.pid = child.pid as number;
    const pid = this.pid;
    // Both pipes exist: spawnApp asks for stdout and stderr as pipes.
    const stdout = child.stdout as NonNullable<typeof child.stdout>;
    const stderr = child.stderr as NonNullable<typeof child.stderr>;
    const drained = Promise.all([
      captureAppStream(stdout, 'stdout', pid, out),
      captureAppStream(stderr, 'stderr', pid, out),
    ]);
    this.exited = new Promise((resolve) => {
      child.once('exit', async (code, signal) => {
        this.#gone = true;
        const ranMs = performance.now() - this.startedAt;
        if ((await raceTimeout(drained, PIPE_LINGER_MS)) === TIMEOUT) {
          log.warn('app output still open after exit (held by a child process); closing it', {
            app_pid: pid,
          });
          stdout.destroy();
          stderr.destroy();
        }
        resolve({ code, signal, status: exitStatus(code, signal), ranMs });
      });
    });
  }

  /** Starts the app; rejects with COMMAND_NOT_FOUND / COMMAND_NOT_EXECUTABLE as spawnApp does. */
  static async start(
    command: string[],
    env: NodeJS.ProcessEnv,
    opts: { group: boolean; log: Logger; out: LogOutput },
  ): Promise<AppInstance> {
    const child = await spawnApp(command, env);
    return new AppInstance(child, opts.group, opts.log, opts.out);
  }

  /** True until the process has exited. */
  get running(): boolean {
    return !this.#gone;
  }

  /**
   * Sends a signal to the app, or to its whole process group when so configured (the app is
   * the leader of its own group: spawnApp starts it detached).
   */
  signal(sig: NodeJS.Signals): void {
    if (this.#gone) return;
    try {
      process.kill(this.#group ? -this.pid : this.pid, sig);
    } catch {
      // It exited between the check and the kill.
    }
  }

  /** Sends `sig`, then SIGKILL (to the group) after `timeoutMs`; resolves when it is gone. */
  async stop(sig: NodeJS.Signals, timeoutMs: number, log: Logger): Promise<AppExit> {
    this.signal(sig);
    if ((await raceTimeout(this.exited, timeoutMs)) === TIMEOUT) {
      log.warn('app did not stop in time; sending SIGKILL', {
        app_pid: this.pid,
        stop_timeout_ms: timeoutMs,
      });
      this.signal('SIGKILL');
    }
    return this.exited;
  }
}

const TIMEOUT = Symbol('timeout');

/**
 * Waits for `p` or `ms`, whichever comes first, and clears the timer either way: a crash
 * loop would otherwise keep one pending timer (and the instance it holds) per restart.
 */
async function raceTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMEOUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMEOUT);
    timer.unref();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
