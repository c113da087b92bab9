import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from '../core/log.ts';
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

/**
 * Turns one of the app's output streams into log lines; resolves once the stream has ended
 * and its last line is written. The logs concern provides it (wired by the Sidecar).
 */
export type CaptureStream = (
  stream: Readable,
  name: 'stdout' | 'stderr',
  pid: number,
) => Promise<void>;

export interface InstanceOptions {
  /** Signals go to the app's whole process group. */
  group: boolean;
  /** What is left of the app's group after it exits gets this signal, then SIGKILL … */
  stopSignal: NodeJS.Signals;
  /** … this long after. */
  stopTimeoutMs: number;
  capture: CaptureStream;
  log: Logger;
}

/** How long the app's pipes may stay open after it exits (held by a grandchild) before we stop reading. */
const PIPE_LINGER_MS = 2000;
/** How often an emptying process group is looked at. */
const GROUP_POLL_MS = 50;

/** One run of the app's process: spawned, its output captured, signalled, reaped. */
export class AppInstance {
  readonly pid: number;
  readonly startedAt = performance.now();
  /** Resolves once the process has exited, what it left in its group is gone, and its output is drained. */
  readonly exited: Promise<AppExit>;
  readonly #group: boolean;
  #gone = false;
  /** Resolves as the process itself exits, before its group and pipes are dealt with. */
  readonly #processExit: Promise<void>;
  /** The signal the app was last asked to stop with; its leftovers get the same. */
  #stopSignal: NodeJS.Signals;

  private constructor(child: ChildProcess, opts: InstanceOptions) {
    this.#group = opts.group;
    this.#stopSignal = opts.stopSignal;
    this.pid = child.pid as number;
    const pid = this.pid;
    const { log, capture } = opts;
    // Both pipes exist: spawnApp asks for stdout and stderr as pipes.
    const stdout = child.stdout as NonNullable<typeof child.stdout>;
    const stderr = child.stderr as NonNullable<typeof child.stderr>;
    const drained = Promise.all([capture(stdout, 'stdout', pid), capture(stderr, 'stderr', pid)]);
    let processExited = (): void => {};
    this.#processExit = new Promise((resolve) => {
      processExited = resolve;
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', async (code, signal) => {
        this.#gone = true;
        processExited();
        const ranMs = performance.now() - this.startedAt;
        // Processes the app left in its group (`sh -c 'daemon &'`) must not outlive it: they
        // would hold its pipes, its port, and outlive Pillion. Started before the pipes are
        // waited on, as these processes are often what holds them open.
        const reaped = reapGroup(pid, this.#stopSignal, opts.stopTimeoutMs, log);
        if ((await raceTimeout(drained, PIPE_LINGER_MS)) === TIMEOUT) {
          log.warn('app output still open after exit (held by a child process); closing it', {
            app_pid: pid,
          });
          stdout.destroy();
          stderr.destroy();
        }
        await reaped;
        resolve({ code, signal, status: exitStatus(code, signal), ranMs });
      });
    });
  }

  /** Starts the app; rejects with COMMAND_NOT_FOUND / COMMAND_NOT_EXECUTABLE as spawnApp does. */
  static async start(
    command: string[],
    env: NodeJS.ProcessEnv,
    opts: InstanceOptions,
  ): Promise<AppInstance> {
    const child = await spawnApp(command, env);
    return new AppInstance(child, opts);
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

  /**
   * Sends `sig`, then SIGKILL (to the group) after `timeoutMs`; resolves when it is gone, and
   * what it left in its group too.
   */
  async stop(sig: NodeJS.Signals, timeoutMs: number, log: Logger): Promise<AppExit> {
    this.#stopSignal = sig;
    this.signal(sig);
    if ((await raceTimeout(this.#processExit, timeoutMs)) === TIMEOUT) {
      log.warn('app did not stop in time; sending SIGKILL', {
        app_pid: this.pid,
        stop_timeout_ms: timeoutMs,
      });
      this.signal('SIGKILL');
    }
    return this.exited;
  }
}

/** True while the process group has a member (ESRCH once it is empty). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Once the group's leader (the app) has exited: signals what is left of the group, and SIGKILLs
 * it after `timeoutMs`. The leader's PID is not reused while its group has members, so `-pgid`
 * cannot reach anyone else.
 */
async function reapGroup(
  pgid: number,
  sig: NodeJS.Signals,
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  if (!groupAlive(pgid)) return;
  log.warn('the app left processes in its process group; stopping them', {
    app_pid: pgid,
    signal: sig,
  });
  signalGroup(pgid, sig);
  const end = performance.now() + timeoutMs;
  while (groupAlive(pgid)) {
    if (performance.now() >= end) {
      log.warn('processes left by the app did not stop in time; sending SIGKILL', {
        app_pid: pgid,
        stop_timeout_ms: timeoutMs,
      });
      signalGroup(pgid, 'SIGKILL');
      return;
    }
    await new Promise((r) => setTimeout(r, GROUP_POLL_MS));
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // The group emptied meanwhile.
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
