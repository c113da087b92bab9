// Sidecar wires the concerns together from a RunConfig: it orders start, stop and drain, and
// turns the app's exit into Pillion's exit code. The work itself stays in the concerns.
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppApi } from './admin/app-api.ts';
import type { SecretRef } from './config/schema.ts';
import type { Concern } from './core/concern.ts';
import type { Logger } from './core/log.ts';
import { Ingress } from './ingress/index.ts';
import type { EdgeLimits } from './ingress/limits.ts';
import { loadTlsMaterial } from './ingress/tls-context.ts';
import { Logs, type LogsOptions, logsOptions } from './logs/index.ts';
import { type LifecycleOptions, Supervisor } from './supervisor/index.ts';

export interface RunConfig {
  /** The app's command; absent means attach to an app already listening on appPort. */
  command?: string[];
  listenHost: string;
  listenPort: number;
  appPort?: number;
  /** `app.protocol`: HTTP/1.1 to the app (default) or cleartext HTTP/2. */
  appProtocol?: 'http1' | 'h2c';
  certFile?: string;
  keyFile?: string;
  stateDir: string;
  drainTimeoutMs: number;
  stopTimeoutMs: number;
  readyTimeoutMs: number;
  /** The config file in use, if any (set with the fields below). */
  configFile?: string;
  /** `app.config`: served to the app at GET /v1/config. */
  appConfig?: unknown;
  /** `app.secrets`: served to the app at GET /v1/secrets/NAME. */
  secrets?: Record<string, SecretRef>;
  /** `app.api.listen`: where the app's config API listens (default 127.0.0.1:0). */
  apiListen?: string;
  /** `app.restart_on_change`: restart the app to apply changed app fields on reload. */
  restartOnChange?: boolean;
  /** Restart policy, health checks, drain delay, signals; defaults when absent. */
  lifecycle?: LifecycleOptions;
  /** Sinks, formats and capture settings; defaults: JSON lines on stdout, blocking. */
  logs?: Partial<LogsOptions>;
  /** Ingress limits and timeouts over the defaults in docs/edge.md. */
  limits?: Partial<EdgeLimits>;
}

/** Signals passed straight to the app; SIGTERM and SIGINT first drain, then reach it. */
const FORWARDED = ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
const SHUTDOWN = ['SIGTERM', 'SIGINT'] as const;

/** Fields of RunConfig a reload applies to a running Pillion; any other change needs a restart. */
export const LIVE_FIELDS = ['appConfig', 'secrets', 'drainTimeoutMs', 'restartOnChange'] as const;

/** Fields a restart of the app applies, when `app.restart_on_change` is on. */
export const APP_FIELDS = ['command', 'appPort', 'stopTimeoutMs', 'lifecycle'] as const;

/** What a reload did: the fields it applied by restarting the app, and those still waiting. */
export interface ReloadResult {
  appRestarted: string[];
  needRestart: string[];
}

export class Sidecar {
  #cfg: RunConfig;
  readonly #log: Logger;
  #ingress: Ingress | undefined;
  #api: AppApi | undefined;
  #supervisor: Supervisor | undefined;
  #stopping = false;

  constructor(cfg: RunConfig, log: Logger) {
    this.#cfg = cfg;
    this.#log = log;
  }

  get ingress(): Ingress | undefined {
    return this.#ingress;
  }

  /**
   * Applies a reloaded config: the live fields take effect at once (the app hears of config
   * and secret changes on its watch stream); returns the changed fields that need a restart,
   * which keep their running values.
   */
  async reload(next: RunConfig): Promise<ReloadResult> {
    const cur = this.#cfg;
    const changed = (Object.keys({ ...cur, ...next }) as (keyof RunConfig)[]).filter(
      (k) =>
        !(LIVE_FIELDS as readonly string[]).includes(k) &&
        k !== 'configFile' &&
        JSON.stringify(cur[k]) !== JSON.stringify(next[k]),
    );
    await this.#api?.update(next.appConfig, next.secrets ?? {});
    this.#cfg = {
      ...cur,
      appConfig: next.appConfig,
      secrets: next.secrets,
      drainTimeoutMs: next.drainTimeoutMs,
      restartOnChange: next.restartOnChange,
    };
    const isApp = (k: string): boolean => (APP_FIELDS as readonly string[]).includes(k);
    const appChanged = changed.filter(isApp);
    const supervisor = this.#supervisor;
    if (!next.restartOnChange || appChanged.length === 0 || !supervisor || !cur.command) {
      return { appRestarted: [], needRestart: changed };
    }
    // Opted in: the app is restarted with its new settings (requests held, none failed).
    await supervisor.reconfigure({
      command: next.command,
      appPort: next.appPort,
      stopTimeoutMs: next.stopTimeoutMs,
      lifecycle: next.lifecycle,
    });
    this.#cfg = {
      ...this.#cfg,
      command: next.command,
      appPort: next.appPort,
      stopTimeoutMs: next.stopTimeoutMs,
      lifecycle: next.lifecycle,
    };
    return { appRestarted: appChanged, needRestart: changed.filter((k) => !isApp(k)) };
  }

  /** The app's supervisor (restart(), pid, restarts), once run() has begun. */
  get supervisor(): Supervisor | undefined {
    return this.#supervisor;
  }

  /** Readiness for a /readyz: the app is ready and Pillion is not shutting down. */
  isReady(): boolean {
    return !this.#stopping && (this.#supervisor?.isReady() ?? false);
  }

  /** Runs until the app exits or Pillion is told to stop; resolves with the exit code. */
  async run(): Promise<number> {
    const cfg = this.#cfg;
    const log = this.#log;
    // Certificates are read before the app starts, so a bad file never leaves an app behind.
    const tls = await loadTlsMaterial({
      certFile: cfg.certFile,
      keyFile: cfg.keyFile,
      stateDir: cfg.stateDir,
    });
    const logs = new Logs(log.output, logsOptions(cfg.logs), log.child('logs'));
    const env = { ...process.env };
    if (cfg.command && env.PORT === undefined) env.PORT = String(cfg.appPort ?? (await freePort()));
    // With a config file, the app gets its config and secrets API (a child only: an attached
    // app cannot be handed the token).
    if (cfg.command && cfg.configFile !== undefined) {
      this.#api = new AppApi({
        listen: cfg.apiListen ?? '127.0.0.1:0',
        // A reload may have come while the certificate was read: take the newest.
        config: this.#cfg.appConfig,
        secrets: this.#cfg.secrets ?? {},
        env: process.env,
        log: log.child('app-api'),
      });
      await this.#api.start();
      Object.assign(env, this.#api.env());
    }
    const supervisor = new Supervisor({
      command: cfg.command,
      appPort: cfg.appPort,
      env,
      stopTimeoutMs: cfg.stopTimeoutMs,
      lifecycle: cfg.lifecycle,
      quiesce: (ms) => ingress.quiesce(ms),
      log: log.child('supervisor'),
      out: log.output,
    });
    this.#supervisor = supervisor;
    const restartWindowMs = cfg.lifecycle?.restartWindowMs ?? cfg.readyTimeoutMs;
    const ingress = new Ingress({
      host: cfg.listenHost,
      port: cfg.listenPort,
      tls,
      log: log.child('ingress'),
      upstream: () => supervisor.upstream(),
      whenReady: (ms) => supervisor.whenReady(ms),
      // Once the app has been ready, a wait is a restart: held up to the restart window.
      get readyTimeoutMs() {
        return supervisor.everReady ? restartWindowMs : cfg.readyTimeoutMs;
      },
      accessLog: logs.accessLog(),
      limits: cfg.limits,
      appProtocol: cfg.appProtocol,
    });
    this.#ingress = ingress;

    let shutdown: (sig: NodeJS.Signals) => void = () => {};
    const stopRequested = new Promise<NodeJS.Signals>((resolve) => {
      shutdown = resolve;
    });
    let stopping = false;
    const onShutdown = (sig: NodeJS.Signals): void => {
      if (stopping) {
        log.warn('second stop signal: passing it to the app now', { signal: sig });
        supervisor.signal(sig);
        return;
      }
      stopping = true;
      this.#stopping = true; // readiness is false from now on
      shutdown(sig);
    };
    const onForward = (sig: NodeJS.Signals): void => supervisor.signal(sig);
    for (const sig of SHUTDOWN) process.on(sig, onShutdown);
    for (const sig of FORWARDED) process.on(sig, onForward);
    try {
      await startAll([logs, supervisor, ingress], log);
      const first = await Promise.race([
        stopRequested,
        supervisor.exited.then(() => 'exited' as const),
      ]);
      const drain = AbortSignal.timeout(this.#cfg.drainTimeoutMs);
      if (first === 'exited') {
        log.info('app exited by itself; draining');
        await ingress.stop(drain);
        return remapExit(await supervisor.exited, this.#cfg.lifecycle);
      }
      // Read now: a reload may have changed it (app.restart_on_change).
      const drainDelayMs = this.#cfg.lifecycle?.drainDelayMs ?? 0;
      log.info('stop signal received; draining', {
        signal: first,
        drain_delay_ms: drainDelayMs,
        drain_timeout_ms: this.#cfg.drainTimeoutMs,
      });
      // Readiness is already false; new requests are still served for the drain delay, so
      // load balancers that poll readiness stop sending before the listener closes.
      if (drainDelayMs > 0) {
        await Promise.race([sleep(drainDelayMs), supervisor.exited]);
        log.info('drain delay over; closing the listener');
      }
      await ingress.stop(drain);
      await supervisor.stop(drain, first);
      return cfg.command ? remapExit(await supervisor.exited, this.#cfg.lifecycle) : 0;
    } finally {
      await this.#api?.stop(AbortSignal.timeout(1000));
      for (const sig of SHUTDOWN) process.off(sig, onShutdown);
      for (const sig of FORWARDED) process.off(sig, onForward);
      // Logs stop last, so the app's final lines are flushed.
      await logs.stop(AbortSignal.timeout(5000));
    }
  }
}

/** Pillion's exit code for the app's exit status, after the configured remap. */
function remapExit(status: number, life: LifecycleOptions | undefined): number {
  return life?.remapExit.get(status) ?? status;
}

/** Starts concerns in order; if one fails, stops those already started, in reverse. */
async function startAll(concerns: Concern[], log: Logger): Promise<void> {
  const started: Concern[] = [];
  for (const c of concerns) {
    try {
      await c.start();
      started.push(c);
    } catch (err) {
      if (started.length > 0) {
        log.warn(`${c.name} failed to start; stopping what was started`, {
          started: started.map((s) => s.name),
        });
      }
      const deadline = AbortSignal.timeout(5000);
      for (const s of started.reverse()) await s.stop(deadline);
      throw err;
    }
  }
}

/** A TCP port free on loopback right now, for the app's PORT variable. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 8080));
    });
  });
}
