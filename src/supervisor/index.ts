// Supervisor owns the app's process: spawning it, its output pipes, finding its port,
// readiness and liveness, restarts with back-off, signals and stopping it. Proxying, log
// formatting and exit are left to others.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Concern, Prepared } from '../core/concern.ts';
import { Backoff } from './backoff.ts';
import type { Upstream } from './health.ts';
import { type AppExit, AppInstance } from './instance.ts';
import { describeBackoff } from './not-ready.ts';
import {
  type AppSettings,
  DEFAULT_LIFECYCLE,
  type LifecycleOptions,
  type SupervisorOptions,
} from './options.ts';
import { pidsListeningOn } from './port-detect.ts';
import { recheckReadiness, waitForReady, watchLiveness } from './readiness.ts';
import { retimed, type Timings } from './reconfigure.ts';
import { type RestartReason, shouldRestart } from './restart-policy.ts';
import { Watchdog } from './watchdog.ts';

export type { Upstream } from './health.ts';
export type { CaptureStream } from './instance.ts';
export type { AppSettings, LifecycleOptions, SupervisorOptions } from './options.ts';

/** The app as the admin API and metrics show it (Supervisor.status). */
export interface AppStatus {
  state: 'starting' | 'ready' | 'restarting' | 'backoff' | 'stopping' | 'stopped';
  pid: number | undefined;
  /** Attach mode: an app Pillion did not start (and cannot restart). */
  attached: boolean;
  restarts: number;
  /** When the running instance started, in performance.now() ms. */
  startedAt: number | undefined;
  lastExit:
    | {
        code: number | null;
        signal: NodeJS.Signals | null;
        status: number;
        /** `crashed`, `exited` (status 0), `restarted` (by Pillion: asked, liveness, config), `stopped`. */
        reason: 'crashed' | 'exited' | 'restarted' | 'stopped';
      }
    | undefined;
}

export class Supervisor implements Concern {
  readonly name = 'supervisor';
  #opts: SupervisorOptions;
  #life: LifecycleOptions;
  #backoff: Backoff;
  #instance: AppInstance | undefined;
  #upstream: Upstream | undefined;
  #waiters = new Set<(u: Upstream | undefined) => void>();
  /** No more instances will run: Pillion is stopping or the policy gave up. */
  #done = false;
  #stopping = false;
  /** Pillion has begun to stop (its first stop signal): no instance is started any more. */
  #stopBegun = false;
  #everReady = false;
  /** Exits in a row of an app that has never been ready (ended at maxStartFailures). */
  #startFailures = 0;
  /** Why the app is not ready now, for the 503 of a held request. */
  #notReady: (() => string) | undefined;
  #restarts = 0;
  #restarting: Promise<void> | undefined;
  #watchdog: Watchdog | undefined;
  /** Bumped each time readiness is watched anew, so an older periodic check stops. */
  #readyGen = 0;
  /** Attach mode: the process found holding the app's port, for monitoring. */
  #attachedPid: number | undefined;
  /** Attach mode: when the app was first found ready (performance.now() ms). */
  #attachedAt: number | undefined;
  /** How the last instance ended, and why (a restart's reason, or its own exit). */
  #lastExit: AppStatus['lastExit'];
  /** Cancels a back-off wait when Pillion stops. */
  readonly #stopAbort = new AbortController();
  #resolveExit!: (status: number) => void;
  /** The app's final exit status (code, or 128+signal), once no restart will follow. */
  readonly exited: Promise<number>;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#life = opts.lifecycle ?? DEFAULT_LIFECYCLE;
    this.#backoff = new Backoff(this.#life.backoff);
    this.exited = new Promise((resolve) => {
      this.#resolveExit = resolve;
    });
  }

  /** The current app process's PID. */
  get pid(): number | undefined {
    return this.#instance?.pid ?? this.#attachedPid;
  }

  /**
   * What the app is doing, for the admin API and metrics: its state, process, restarts, when
   * the running instance started (performance.now() ms), and how the last one ended.
   */
  status(): AppStatus {
    const inst = this.#instance;
    const state: AppStatus['state'] = this.#done
      ? 'stopped'
      : this.#stopping
        ? 'stopping'
        : this.#restarting
          ? 'restarting'
          : this.#upstream
            ? 'ready'
            : inst && !inst.running
              ? 'backoff'
              : 'starting';
    return {
      state,
      pid: this.pid,
      attached: !this.#opts.command,
      restarts: this.#restarts,
      startedAt: inst?.running ? inst.startedAt : this.#attachedAt,
      lastExit: this.#lastExit,
    };
  }

  /** How many times the app was started again in this run. */
  get restarts(): number {
    return this.#restarts;
  }

  /** True once the app has been ready at least once (later waits are restarts). */
  get everReady(): boolean {
    return this.#everReady;
  }

  async start(): Promise<void> {
    const { command, log } = this.#opts;
    if (command) {
      this.#watchdog = new Watchdog(
        this.#life.stopSignal ?? 'SIGTERM',
        this.#opts.stopTimeoutMs,
        this.#opts.log,
      );
      // A first start that cannot run the command is an error for the caller (exit 127/126).
      try {
        this.#watch(await this.#spawn(command));
      } catch (err) {
        this.#watchdog.close();
        throw err;
      }
    } else {
      log.info('attached to an app Pillion did not start', { port: this.#opts.appPort });
      void this.#watchReadiness(undefined);
    }
  }

  /** The app's address while it is ready, else undefined. Cheap: called per request. */
  upstream(): Upstream | undefined {
    return this.#upstream;
  }

  /** True while the app passes its readiness check (and Pillion is not stopping it). */
  isReady(): boolean {
    return this.#upstream !== undefined;
  }

  /** Waits up to `timeoutMs` for the app to become ready; undefined if it did not. */
  whenReady(timeoutMs: number): Promise<Upstream | undefined> {
    if (this.#upstream || this.#done || this.#stopping) return Promise.resolve(this.#upstream);
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

  /** Forwards a signal to the app's process (or its group, when so configured). */
  signal(sig: NodeJS.Signals): void {
    this.#instance?.signal(sig);
  }

  /**
   * Pillion has begun to stop (its first stop signal, before the drain): from now on the
   * restart policy is off. If the app exits during the drain (a second Ctrl-C passed on to
   * it), no new instance starts and no held request is sent to one; a back-off wait ends.
   */
  beginStop(): void {
    this.#stopBegun = true;
    this.#stopAbort.abort();
  }

  /**
   * Why the app is not ready, when something is known: in back-off after an exit (its status
   * and when the next start is), or waiting for its port. Undefined while ready.
   */
  notReadyReason(): string | undefined {
    return this.#upstream ? undefined : this.#notReady?.();
  }

  /**
   * Replaces the running app with a fresh one: readiness turns false (new requests are held),
   * requests in flight to the app finish, the app gets its stop signal, and the new instance
   * serves the held requests once it is ready. Resolves when the new instance is ready or has
   * exited. Concurrent calls share one restart.
   */
  restart(reason: RestartReason = 'requested'): Promise<void> {
    if (!this.#opts.command) return Promise.resolve();
    this.#restarting ??= this.#replace(reason).finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  /**
   * Takes new settings for the app (a reloaded config) and restarts it with them, the way
   * restart() does: held requests, no failed ones. The running app is stopped by its old stop
   * signal and timeout. In attach mode there is nothing to restart.
   */
  async reconfigure(next: AppSettings): Promise<void> {
    if (!this.#opts.command || !next.command) return;
    // A restart under way finishes first; this one then applies the new settings.
    await this.#restarting;
    const apply = (): void => {
      this.#opts = {
        ...this.#opts,
        command: next.command,
        appPort: next.appPort,
        stopTimeoutMs: next.stopTimeoutMs,
      };
      this.#life = next.lifecycle ?? DEFAULT_LIFECYCLE;
    };
    this.#restarting = this.#replace('config', apply).finally(() => {
      this.#restarting = undefined;
    });
    return this.#restarting;
  }

  /** Phase one of a reload of the timings (reconfigure.ts): nothing can fail; commit swaps them in. */
  async prepare(next: Timings): Promise<Prepared> {
    const life = retimed(this.#life, next.lifecycle);
    return {
      commit: () => {
        if (JSON.stringify(life.backoff) !== JSON.stringify(this.#life.backoff))
          this.#backoff = new Backoff(life.backoff);
        this.#life = life;
        this.#opts = { ...this.#opts, stopTimeoutMs: next.stopTimeoutMs };
      },
      abort: async () => {},
    };
  }

  /** Sends the stop signal, waits the stop timeout, then SIGKILLs; resolves when the app is gone. */
  async stop(_deadline: AbortSignal, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    this.#stopping = true;
    this.#stopBegun = true;
    this.#stopAbort.abort();
    this.#setUpstream(undefined);
    if (this.#restarting) await this.#restarting.catch(() => {});
    const inst = this.#instance;
    if (!inst?.running) {
      this.#finish(inst ? (await inst.exited).status : 0);
      await this.exited;
      return;
    }
    const signal = this.#life.stopSignal ?? sig;
    this.#opts.log.info('stopping app', { app_pid: inst.pid, signal });
    const exit = await inst.stop(signal, this.#opts.stopTimeoutMs, this.#opts.log);
    this.#finish(exit.status);
    await this.exited;
  }

  async #spawn(command: string[]): Promise<AppInstance> {
    const { env, log, capture, stopTimeoutMs } = this.#opts;
    const inst = await AppInstance.start(command, env, {
      group: this.#life.signalGroup,
      stopSignal: this.#life.stopSignal ?? 'SIGTERM',
      stopTimeoutMs,
      capture,
      log,
    });
    this.#instance = inst;
    this.#watchdog?.watch(inst.pid);
    log.info('app started', { app_pid: inst.pid, command, restarts: this.#restarts });
    return inst;
  }

  /** Follows one instance: readiness, liveness, and what happens when it exits. */
  #watch(inst: AppInstance): void {
    void this.#watchReadiness(inst);
    void inst.exited.then((exit) => this.#onExit(inst, exit));
  }

  async #onExit(inst: AppInstance, exit: AppExit): Promise<void> {
    const { log } = this.#opts;
    log.info('app exited', {
      app_pid: inst.pid,
      code: exit.code,
      signal: exit.signal,
      status: exit.status,
    });
    this.#lastExit = {
      code: exit.code,
      signal: exit.signal,
      status: exit.status,
      reason:
        this.#instance !== inst || this.#restarting
          ? 'restarted'
          : this.#stopping || this.#stopBegun
            ? 'stopped'
            : exit.status === 0
              ? 'exited'
              : 'crashed',
    };
    if (this.#instance !== inst) return; // replaced by restart(), which carries on
    this.#setUpstream(undefined);
    if (this.#stopping || this.#restarting) return; // stop() or restart() owns what follows
    if (this.#stopBegun) {
      // Pillion is draining: the app is not started again, whatever the policy says.
      log.info('app exited while Pillion is stopping; not restarting it', { status: exit.status });
      this.#finish(exit.status);
      return;
    }
    const { restart, maxRestarts, maxStartFailures } = this.#life;
    if (!shouldRestart(restart, exit.status, this.#restarts, maxRestarts)) {
      if (maxRestarts !== undefined && this.#restarts >= maxRestarts && restart !== 'never') {
        log.error('app exited and max restarts reached; giving up', {
          status: exit.status,
          restarts: this.#restarts,
          max_restarts: maxRestarts,
        });
      }
      this.#finish(exit.status);
      return;
    }
    if (!this.#everReady && ++this.#startFailures >= maxStartFailures && maxStartFailures > 0) {
      // A crash loop before the app was ever ready will not heal itself: end Pillion with the
      // app's code, so that Docker or Kubernetes learn it fails.
      log.error('app exited without ever becoming ready; giving up', {
        status: exit.status,
        failures: this.#startFailures,
        max_start_failures: maxStartFailures,
      });
      this.#finish(exit.status);
      return;
    }
    const delay = this.#backoff.next(exit.ranMs);
    const nextAt = performance.now() + delay;
    const failures = this.#everReady ? 0 : this.#startFailures;
    this.#notReady = () => describeBackoff(exit.status, failures, nextAt);
    const reason: RestartReason = exit.status === 0 ? 'exited' : 'crashed';
    log.warn('app exited; restarting after back-off', {
      reason,
      status: exit.status,
      restarts: this.#restarts + 1,
      delay_ms: delay,
      ran_ms: Math.round(exit.ranMs),
    });
    try {
      await sleep(delay, undefined, { signal: this.#stopAbort.signal });
    } catch {
      this.#finish(exit.status); // Pillion is stopping: no new instance
      return;
    }
    if (this.#instance !== inst || this.#done) return; // restart() already replaced it
    await this.#relaunch(reason, exit.status);
  }

  /** Starts a new instance after one exited; a command that no longer runs counts as a crash. */
  async #relaunch(reason: RestartReason, lastStatus: number): Promise<void> {
    const command = this.#opts.command as string[];
    if (this.#stopBegun) {
      this.#finish(lastStatus);
      return;
    }
    this.#restarts++;
    this.#notReady = undefined;
    try {
      const inst = await this.#spawn(command);
      this.#opts.log.info('app restarted', {
        reason,
        restarts: this.#restarts,
        app_pid: inst.pid,
      });
      this.#watch(inst);
    } catch (err) {
      const e = err as Error & { code?: string };
      this.#opts.log.error(`cannot restart the app: ${e.message}`, { code: e.code });
      this.#finish(lastStatus);
    }
  }

  /** Stops the app and starts it again; `apply` runs in between (new settings, if any). */
  async #replace(reason: RestartReason, apply?: () => void): Promise<void> {
    const { log, quiesce, stopTimeoutMs } = this.#opts;
    const old = this.#instance;
    if (this.#done || this.#stopping || this.#stopBegun || !old) return;
    log.info('restarting app', { reason, app_pid: old.pid, restarts: this.#restarts + 1 });
    this.#setUpstream(undefined);
    // In-flight requests finish before the app is told to stop, so none of them fails.
    if (quiesce) await quiesce(stopTimeoutMs);
    if (old.running) {
      await old.stop(this.#life.stopSignal ?? 'SIGTERM', stopTimeoutMs, log);
    }
    if (this.#stopping || this.#stopBegun) return;
    apply?.();
    this.#backoff.reset();
    await this.#relaunch(reason, (await old.exited).status);
    const inst = this.#instance;
    if (inst && inst !== old) {
      await Promise.race([this.whenReady(this.#life.restartWindowMs), inst.exited]);
    }
  }

  #finish(status: number): void {
    if (this.#done) return;
    this.#done = true;
    this.#notReady = () => `the app exited with status ${status} and is not started again`;
    this.#watchdog?.close();
    this.#setUpstream(undefined);
    this.#resolveExit(status);
  }

  #setUpstream(u: Upstream | undefined): void {
    this.#upstream = u;
    if (u) {
      this.#everReady = true;
      this.#startFailures = 0;
      this.#notReady = undefined;
    }
    // Waiters also learn when no instance will become ready (stopping or done).
    if (u || this.#done || this.#stopping) for (const w of [...this.#waiters]) w(u);
    this.#opts.onUpstream?.();
  }

  /** True while `inst` is the instance that should be serving. */
  #current(inst: AppInstance | undefined): boolean {
    if (this.#done || this.#stopping) return false;
    return inst ? this.#instance === inst && inst.running : true;
  }

  async #watchReadiness(inst: AppInstance | undefined): Promise<void> {
    const gen = ++this.#readyGen;
    const { appPort, env, log } = this.#opts;
    const { readiness, probeTimeoutMs, liveness } = this.#life;
    const startedAt = inst?.startedAt ?? performance.now();
    const live = (): boolean => this.#current(inst);
    const found = await waitForReady({
      appPort,
      pid: inst?.pid,
      env,
      startedAt,
      readiness,
      probeTimeoutMs,
      live,
      notReady: (why) => {
        this.#notReady = () => why;
        log.warn(`app not ready: ${why}`, { app_pid: inst?.pid, port: appPort });
      },
    });
    if (!found) return;
    const { how, ports, ...up } = found;
    if (!inst) {
      this.#attachedPid = (await pidsListeningOn(up.port))[0];
      this.#attachedAt ??= performance.now();
    }
    if (!live()) return;
    log.info('app ready', {
      ...up,
      how,
      ...(ports ? { ports } : {}),
      ...(readiness.kind === 'tcp' ? {} : { probe: readiness.kind }),
      app_pid: inst?.pid ?? this.#attachedPid,
    });
    this.#setUpstream(up);
    void recheckReadiness({
      readiness,
      // Read each round: a reload may change the interval and timeout.
      timings: () => this.#life,
      up,
      live: () => live() && this.#readyGen === gen,
      changed: (ok) => {
        if (ok) log.info('app ready again', { ...up, app_pid: this.pid });
        else log.warn('app no longer ready', { probe: readiness.kind, app_pid: this.pid });
        this.#setUpstream(ok ? up : undefined);
      },
    });
    if (!liveness) return;
    const failed = await watchLiveness({
      // Read each round: a reload may change the interval, threshold, grace and timeout.
      timings: () => this.#life,
      up,
      startedAt,
      live,
      log,
      appPid: inst?.pid,
    });
    if (!failed) return;
    if (inst) void this.restart('liveness');
    else {
      // Attach mode: Pillion cannot restart the app; it stops routing to it until it recovers.
      this.#setUpstream(undefined);
      void this.#watchReadiness(undefined);
    }
  }
}
