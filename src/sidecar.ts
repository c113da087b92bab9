// Sidecar wires the concerns together from a RunConfig: it orders start, stop and drain, turns
// the app's exit into Pillion's exit code, and runs a reload as one transaction across the
// concerns. The work itself stays in the concerns.
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { AppApi } from './admin/app-api.ts';
import type { FieldChange } from './config/diff.ts';
import type { Settings } from './config/settings.ts';
import type { Concern, Prepared } from './core/concern.ts';
import { PillionError } from './core/errors.ts';
import { FileWatch } from './core/file-watch.ts';
import type { Logger } from './core/log.ts';
import { Ingress } from './ingress/index.ts';
import { RENEW_DAYS } from './ingress/self-signed.ts';
import { loadClientAuth } from './ingress/tls/client-auth.ts';
import { expiresWithin } from './ingress/tls/local-ca.ts';
import { loadTlsMaterial, type TlsMaterial } from './ingress/tls-context.ts';
import { Logs } from './logs/index.ts';
import type { SinkOutput } from './logs/output.ts';
import { type LifecycleOptions, Supervisor } from './supervisor/index.ts';
import { retimed } from './supervisor/reconfigure.ts';
import type { WorkerIngress } from './worker-main.ts';
import { WorkerPool } from './workers/index.ts';

/** The resolved config Pillion runs with (config/settings.ts): every concern's slice, typed. */
export type RunConfig = Settings;

/** Signals passed straight to the app; SIGTERM and SIGINT first drain, then reach it. */
const FORWARDED = ['SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
const SHUTDOWN = ['SIGTERM', 'SIGINT'] as const;
/** Grace past the drain and stop timeouts for the last steps of a stop (the log flush). */
const STOP_GRACE_MS = 5000;

/** What a reload did, by field path: applied live, applied by restarting the app, or waiting. */
export interface ReloadResult {
  applied: string[];
  appRestarted: string[];
  needRestart: string[];
}

/** Reloads so far, for the metrics concern to expose. */
export interface ReloadStats {
  applied: number;
  rejected: number;
  /** How often each field path was changed by a reload that applied. */
  fields: Record<string, number>;
}

/** The concern each live field belongs to (first matching prefix); the rest are the Sidecar's own. */
const OWNER: [prefix: string, concern: 'api' | 'logs' | 'ingress' | 'supervisor'][] = [
  ['app.config', 'api'],
  ['app.secrets', 'api'],
  ['logs.', 'logs'],
  ['ingress.', 'ingress'],
  ['app.backoff.', 'supervisor'],
  ['app.restart_window', 'supervisor'],
  ['app.stop_timeout', 'supervisor'],
  ['app.readiness.interval', 'supervisor'],
  ['app.liveness.', 'supervisor'],
  ['app.startup_grace', 'supervisor'],
  ['app.probe_timeout', 'supervisor'],
  ['drain.delay', 'supervisor'],
];

/** A concern that can take part in a reload of the slice `S`. */
type Reloadable<S> = { prepare?: (next: S) => Promise<Prepared> };

/** What serves HTTPS: the Ingress in this process, or the pool of worker processes running one each. */
type Front = Concern & {
  quiesce(timeoutMs: number): Promise<void>;
  readonly address: { host: string; port: number } | undefined;
};

export class Sidecar {
  #cfg: RunConfig;
  readonly #log: Logger<SinkOutput>;
  #ingress: Ingress | undefined;
  /** The data-path workers (ingress.workers > 1), in place of #ingress. */
  #pool: WorkerPool | undefined;
  #api: AppApi | undefined;
  #logs: Logs | undefined;
  #supervisor: Supervisor | undefined;
  #stopping = false;
  /** Checks the generated certificate for renewal (twice a day). */
  #renewal: NodeJS.Timeout | undefined;
  /** mTLS: the client CA file, watched; a change is applied as a reload. */
  #caWatch: { file: string; watch: FileWatch } | undefined;
  /** Reloads run one at a time: a second waits for the first to commit or abort. */
  #reloading: Promise<unknown> = Promise.resolve();
  readonly reloads: ReloadStats = { applied: 0, rejected: 0, fields: {} };

  constructor(cfg: RunConfig, log: Logger<SinkOutput>) {
    this.#cfg = cfg;
    this.#log = log;
  }

  /** The Ingress in this process; undefined with workers (see `workers`). */
  get ingress(): Ingress | undefined {
    return this.#ingress;
  }

  /** The data-path worker processes, when ingress.workers > 1. */
  get workers(): WorkerPool | undefined {
    return this.#pool;
  }

  /** The config in force. */
  get config(): RunConfig {
    return this.#cfg;
  }

  /**
   * Applies a reloaded config as one transaction: every concern a live field belongs to
   * prepares its part (which may fail: a file that cannot be opened, a port in use, a secret
   * that cannot be read), then all commit; if one prepare fails, the others are aborted, this
   * throws, and nothing changed. Fields marked `app-restart` restart the app when
   * `restartOnChange` is on; the other changed fields keep their running values.
   */
  reload(next: RunConfig, changes: readonly FieldChange[]): Promise<ReloadResult> {
    const run = this.#reloading.then(() => this.#reload(next, changes));
    this.#reloading = run.catch(() => {});
    // Applied and rejected are counted by whoever reads the file (the watcher counts invalid
    // text too); the fields applied, here.
    run.then(
      (r) => {
        for (const f of [...r.applied, ...r.appRestarted])
          this.reloads.fields[f] = (this.reloads.fields[f] ?? 0) + 1;
      },
      () => {},
    );
    return run;
  }

  async #reload(next: RunConfig, changes: readonly FieldChange[]): Promise<ReloadResult> {
    const cur = this.#cfg;
    const owner = (path: string) => OWNER.find(([p]) => path.startsWith(p))?.[1];
    const live = changes.filter((c) => c.apply === 'live');
    const touched = new Set(live.map((c) => owner(c.path)));
    const needRestart = changes.filter((c) => c.apply === 'restart').map((c) => c.path);
    // An ingress that cannot reload keeps its fields for the next start. The worker pool is
    // one: each worker's Ingress was built from the settings at start (docs/edge.md, Workers).
    const ingress = (this.#ingress ?? this.#pool) as (Front & Reloadable<IngressSlice>) | undefined;
    const ingressLive = typeof ingress?.prepare === 'function';
    const applied = live
      .filter((c) => owner(c.path) !== 'ingress' || ingressLive || !ingress)
      .map((c) => c.path);
    if (ingress && !ingressLive)
      needRestart.push(...live.filter((c) => owner(c.path) === 'ingress').map((c) => c.path));

    // Logs first: a new file opened there is closed again if a later step refuses.
    const steps: [string, () => Promise<Prepared> | undefined][] = [
      ['logs', () => (touched.has('logs') ? this.#logs?.prepare(next.logs) : undefined)],
      ['app-api', () => (touched.has('api') ? this.#api?.prepare(apiSlice(next)) : undefined)],
      [
        'supervisor',
        () => (touched.has('supervisor') ? this.#supervisor?.prepare(next) : undefined),
      ],
      [
        'ingress',
        () =>
          touched.has('ingress') && ingressLive
            ? ingress?.prepare?.(ingressSlice(next))
            : undefined,
      ],
    ];
    const prepared: Prepared[] = [];
    for (const [name, step] of steps) {
      try {
        const p = await step();
        if (p) prepared.push(p);
      } catch (err) {
        await Promise.all(prepared.map((p) => p.abort().catch(() => {})));
        if (err instanceof PillionError) throw err;
        throw new Error(`${name}: ${(err as Error).message}; nothing was changed`, { cause: err });
      }
    }
    for (const p of prepared) p.commit();
    this.#cfg = {
      ...cur,
      appConfig: next.appConfig,
      secrets: next.secrets,
      drainTimeoutMs: next.drainTimeoutMs,
      readyTimeoutMs: next.readyTimeoutMs,
      restartOnChange: next.restartOnChange,
      stopTimeoutMs: next.stopTimeoutMs,
      lifecycle: retimed(cur.lifecycle, next.lifecycle),
      ...(touched.has('logs') ? { logs: next.logs } : {}),
      ...(touched.has('ingress') && (ingressLive || !ingress)
        ? {
            listenHost: next.listenHost,
            listenPort: next.listenPort,
            limits: next.limits,
            clientAuth: next.clientAuth,
          }
        : {}),
    };
    this.#watchClientCa();

    const appChanged = changes.filter((c) => c.apply === 'app-restart').map((c) => c.path);
    const supervisor = this.#supervisor;
    if (!next.restartOnChange || appChanged.length === 0 || !supervisor || !cur.command) {
      return { applied, appRestarted: [], needRestart: [...needRestart, ...appChanged] };
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
      lifecycle: next.lifecycle,
    };
    return { applied, appRestarted: appChanged, needRestart };
  }

  /**
   * The generated certificate is renewed while running, 30 days before it ends, by the local
   * CA (self-signed.ts), and served to new connections at once. With workers it is renewed at
   * their next start.
   */
  #renewLater(first: TlsMaterial): void {
    let current = first;
    const log = this.#log.child('ingress');
    this.#renewal = setInterval(
      () => {
        const ingress = this.#ingress;
        if (!ingress || !expiresWithin(new X509Certificate(current.cert), RENEW_DAYS)) return;
        loadTlsMaterial({ stateDir: this.#cfg.stateDir }).then(
          (next) => {
            current = next;
            ingress.setCertificate(next);
            log.info('generated certificate renewed', {
              cert: next.certFile,
              cert_sha256: next.fingerprint256,
              cert_expires: next.validTo,
            });
          },
          (err: Error & { code?: string }) =>
            log.error('generated certificate not renewed; the current one stays', {
              code: err.code ?? 'PILLION_INTERNAL',
              error: err.message,
            }),
        );
      },
      12 * 3600 * 1000,
    );
    this.#renewal.unref();
  }

  /**
   * mTLS: watches the client CA file in force (following a reload that names another); a
   * change runs a reload of the same config, which reads the file again in Ingress.prepare.
   */
  #watchClientCa(): void {
    const file = this.#cfg.clientAuth?.ca;
    if (this.#caWatch?.file === file) return;
    this.#caWatch?.watch.close();
    this.#caWatch = undefined;
    if (file === undefined || this.#stopping) return;
    const log = this.#log.child('ingress');
    const watch = new FileWatch([file], () => {
      this.reload(this.#cfg, [{ path: 'ingress.tls.client.ca', apply: 'live' }]).then(
        () => log.info('client CA reloaded', { file }),
        (err: Error & { code?: string }) =>
          log.error('client CA rejected; the last good one stays in force', {
            file,
            code: err.code ?? 'PILLION_INTERNAL',
            error: err.message,
          }),
      );
    });
    this.#caWatch = { file, watch };
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
    const clientAuth = cfg.clientAuth ? await loadClientAuth(cfg.clientAuth) : undefined;
    const logs = new Logs(log.output, cfg.logs, log.child('logs'));
    this.#logs = logs;
    const env = { ...process.env };
    if (cfg.command && env.PORT === undefined) env.PORT = String(cfg.appPort ?? (await freePort()));
    // With a config file, the app gets its config and secrets API (a child only: an attached
    // app cannot be handed the token). It starts before the app, whose environment it fills.
    const concerns: Concern[] = [logs];
    const supervisor = new Supervisor({
      command: cfg.command,
      appPort: cfg.appPort,
      env,
      stopTimeoutMs: cfg.stopTimeoutMs,
      lifecycle: cfg.lifecycle,
      quiesce: (ms) => ingress.quiesce(ms),
      onUpstream: () => pool?.relay(),
      capture: (stream, name, pid) => logs.capture(stream, name, pid),
      log: log.child('supervisor'),
    });
    this.#supervisor = supervisor;
    // Once the app has been ready, a wait is a restart: held up to the restart window. Read at
    // each request (or relay to the workers), so a reload of either applies at once.
    const readyTimeoutMs = (): number => {
      const c = this.#cfg;
      return supervisor.everReady ? c.lifecycle.restartWindowMs : c.readyTimeoutMs;
    };
    // workers > 1: the Ingress runs in each worker process (worker-main.ts), none here; each
    // is built from the same settings as the one below.
    const workerIngress: WorkerIngress = {
      tls,
      limits: cfg.limits,
      access: cfg.logs.access,
      level: cfg.logs.level,
      appProtocol: cfg.appProtocol,
      ...(clientAuth
        ? { clientAuth: { settings: clientAuth.settings, caPem: clientAuth.caPem } }
        : {}),
    };
    const pool =
      cfg.workers > 1
        ? new WorkerPool({
            count: cfg.workers,
            host: cfg.listenHost,
            port: cfg.listenPort,
            entry: fileURLToPath(new URL('./worker-main.ts', import.meta.url)),
            ingress: workerIngress,
            upstream: () => supervisor.upstream(),
            notReadyReason: () => supervisor.notReadyReason(),
            readyTimeoutMs,
            writeLines: (lines) => log.output.write(lines),
            log: log.child('workers'),
          })
        : undefined;
    this.#pool = pool;
    const front: Front =
      pool ??
      new Ingress({
        host: cfg.listenHost,
        port: cfg.listenPort,
        tls,
        log: log.child('ingress'),
        upstream: () => supervisor.upstream(),
        whenReady: (ms) => supervisor.whenReady(ms),
        notReadyReason: () => supervisor.notReadyReason(),
        get readyTimeoutMs() {
          return readyTimeoutMs();
        },
        accessLog: logs.accessLog(),
        limits: cfg.limits,
        appProtocol: cfg.appProtocol,
        clientAuth,
      });
    if (front instanceof Ingress) this.#ingress = front;
    const ingress = front;
    // The HTTPS port is bound before the app starts: with the port taken, Pillion exits before
    // the app has run (and done its migrations).
    concerns.push(ingress);
    if (cfg.command && cfg.configFile !== undefined) {
      const api = new AppApi({
        listen: cfg.apiListen,
        // A reload may have come while the certificate was read: take the newest.
        config: this.#cfg.appConfig,
        secrets: this.#cfg.secrets,
        env: process.env,
        log: log.child('app-api'),
      });
      this.#api = api;
      concerns.push({
        name: api.name,
        start: async () => {
          await api.start();
          Object.assign(env, api.env());
        },
        stop: (deadline) => api.stop(deadline),
      });
    }
    concerns.push(supervisor);

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
      supervisor.beginStop(); // and the app is never started again
      shutdown(sig);
    };
    const onForward = (sig: NodeJS.Signals): void => supervisor.signal(sig);
    const forwarded = cfg.forwardSighup ? [...FORWARDED, 'SIGHUP' as const] : FORWARDED;
    for (const sig of SHUTDOWN) process.on(sig, onShutdown);
    for (const sig of forwarded) process.on(sig, onForward);
    let started: Concern[] = [];
    let deadline: AbortSignal | undefined;
    try {
      started = await startAll(concerns, log);
      this.#watchClientCa();
      if (tls.caFile) this.#renewLater(tls);
      void this.#announce(supervisor, ingress);
      const first = await Promise.race([
        stopRequested,
        supervisor.exited.then(() => 'exited' as const),
      ]);
      // One deadline for the whole stop: the drain, the app's stop, then the rest.
      const c = this.#cfg;
      deadline = AbortSignal.timeout(c.drainTimeoutMs + c.stopTimeoutMs + STOP_GRACE_MS);
      const drain = AbortSignal.any([AbortSignal.timeout(c.drainTimeoutMs), deadline]);
      if (first === 'exited') {
        log.info('app exited by itself; draining');
        await ingress.stop(drain);
        return remapExit(await supervisor.exited, c.lifecycle);
      }
      // Read now: a reload may have changed it.
      const drainDelayMs = c.lifecycle.drainDelayMs;
      log.info('stop signal received; draining', {
        signal: first,
        drain_delay_ms: drainDelayMs,
        drain_timeout_ms: c.drainTimeoutMs,
      });
      // Readiness is already false; new requests are still served for the drain delay, so
      // load balancers that poll readiness stop sending before the listener closes.
      if (drainDelayMs > 0) {
        await Promise.race([sleep(drainDelayMs), supervisor.exited]);
        log.info('drain delay over; closing the listener');
      }
      await ingress.stop(drain);
      await supervisor.stop(deadline, first);
      return cfg.command ? remapExit(await supervisor.exited, this.#cfg.lifecycle) : 0;
    } finally {
      clearInterval(this.#renewal);
      this.#caWatch?.watch.close();
      this.#caWatch = undefined;
      deadline ??= AbortSignal.timeout(STOP_GRACE_MS);
      for (const c of started.filter((s) => s.name === 'app-api')) await c.stop(deadline);
      for (const sig of SHUTDOWN) process.off(sig, onShutdown);
      for (const sig of forwarded) process.off(sig, onForward);
      // Logs stop last, so the app's final lines are flushed.
      await logs.stop(deadline);
    }
  }

  /** Once the app is first ready: the one line that says where to point a browser. */
  async #announce(supervisor: Supervisor, ingress: Front): Promise<void> {
    const up = await supervisor.whenReady(2 ** 31 - 1);
    const at = ingress.address;
    if (!up || !at) return;
    const host = at.host === '0.0.0.0' || at.host === '::' ? 'localhost' : at.host;
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${at.port}`;
    this.#log.info(`serving ${url} -> app ${up.host}:${up.port}`, {
      url,
      app: `${up.host}:${up.port}`,
    });
  }
}

/** What the ingress takes on a reload (`Ingress.prepare`). */
export interface IngressSlice {
  host: string;
  port: number;
  limits: RunConfig['limits'];
  clientAuth: RunConfig['clientAuth'];
}

function ingressSlice(c: RunConfig): IngressSlice {
  return { host: c.listenHost, port: c.listenPort, limits: c.limits, clientAuth: c.clientAuth };
}

function apiSlice(c: RunConfig) {
  return { config: c.appConfig, secrets: c.secrets };
}

/** Pillion's exit code for the app's exit status, after the configured remap. */
function remapExit(status: number, life: LifecycleOptions): number {
  return life.remapExit.get(status) ?? status;
}

/**
 * Starts concerns in order and returns them; if one fails, stops those already started, in
 * reverse. A PillionError (command not found, port in use) is the user's to fix and is
 * reported once, by the caller; only an unexpected failure is warned about here.
 */
async function startAll(concerns: Concern[], log: Logger): Promise<Concern[]> {
  const started: Concern[] = [];
  for (const c of concerns) {
    try {
      await c.start();
      started.push(c);
    } catch (err) {
      if (started.length > 0 && !(err instanceof PillionError)) {
        log.warn(`${c.name} failed to start; stopping what was started`, {
          started: started.map((s) => s.name),
        });
      }
      const deadline = AbortSignal.timeout(STOP_GRACE_MS);
      // Logs stop last, in run()'s finally, so what the others log on the way is kept.
      for (const s of started.reverse()) if (s.name !== 'logs') await s.stop(deadline);
      throw err;
    }
  }
  return started;
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
