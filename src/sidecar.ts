// Sidecar wires the concerns together from a RunConfig: it orders start, stop and drain, turns
// the app's exit into Pillion's exit code, and runs a reload as one transaction across the
// concerns. The work itself stays in the concerns.
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ActionResult, AdminServer } from './admin/admin-server.ts';
import type { AppApi } from './admin/app-api.ts';
import type { FieldChange } from './config/diff.ts';
import type { Settings } from './config/settings.ts';
import type { Concern, Prepared } from './core/concern.ts';
import { ErrorCode, PillionError } from './core/errors.ts';
import type { Logger } from './core/log.ts';
import { Egress } from './egress/index.ts';
import { Ingress } from './ingress/index.ts';
import { wakeMemoryReducerAfterStart } from './ingress/memory-relief.ts';
import { servedCertificates } from './ingress/tls/expiry.ts';
import { loadTlsMaterial } from './ingress/tls/material.ts';
import { Logs } from './logs/index.ts';
import type { SinkOutput } from './logs/output.ts';
import { traceOf } from './metrics/trace-context.ts';
import {
  buildAdmin,
  buildMetrics,
  type CertificateDetail,
  certificateDetails,
} from './sidecar-monitor.ts';
import { type LifecycleOptions, Supervisor } from './supervisor/index.ts';
import { retimed } from './supervisor/reconfigure.ts';
import type { WorkerIngress } from './worker-main.ts';
import type { WorkerPool } from './workers/index.ts';

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
const OWNER: [prefix: string, concern: 'api' | 'logs' | 'ingress' | 'supervisor' | 'egress'][] = [
  ['egress.', 'egress'],
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

/** What `pillion run` adds to a Sidecar beyond its config: the file behind it, for the admin API. */
export interface SidecarHooks {
  /** The effective config, secrets redacted (what `pillion config` prints). */
  effectiveConfig?: () => unknown;
  /** Re-reads the config file as one reload transaction (POST /api/v1/reload). */
  reloadFile?: () => Promise<ActionResult>;
  /** The serving certificates, when the TLS side keeps more than the one of ingress.tls. */
  certificates?: () => readonly CertificateDetail[];
}

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
  #egress: Egress | undefined;
  #logs: Logs | undefined;
  #supervisor: Supervisor | undefined;
  #admin: AdminServer | undefined;
  #stopping = false;
  /** Reloads run one at a time: a second waits for the first to commit or abort. */
  #reloading: Promise<unknown> = Promise.resolve();
  readonly reloads: ReloadStats = { applied: 0, rejected: 0, fields: {} };
  readonly #hooks: SidecarHooks;
  /** Begins the drain and stop, as a first SIGTERM does (POST /api/v1/drain). */
  #drain: () => void = () => {};

  constructor(cfg: RunConfig, log: Logger<SinkOutput>, hooks: SidecarHooks = {}) {
    this.#cfg = cfg;
    this.#log = log;
    this.#hooks = hooks;
  }

  /** The Ingress in this process; undefined with workers (see `workers`). */
  get ingress(): Ingress | undefined {
    return this.#ingress;
  }

  /** The data-path worker processes, when ingress.workers > 1. */
  get workers(): WorkerPool | undefined {
    return this.#pool;
  }

  /** The egress port (its per-service `stats()`), once run() has begun. */
  get egress(): Egress | undefined {
    return this.#egress;
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
    // An egress port that was off at start opens only at the next start.
    const egressOff = this.#egress !== undefined && !this.#egress.running;
    const applied = live
      .filter((c) => owner(c.path) !== 'ingress' || ingressLive || !ingress)
      .filter((c) => owner(c.path) !== 'egress' || !egressOff)
      .map((c) => c.path);
    if (egressOff)
      needRestart.push(...live.filter((c) => owner(c.path) === 'egress').map((c) => c.path));
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
      ['egress', () => (touched.has('egress') ? this.#egress?.prepare(next.egress) : undefined)],
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
      ...(touched.has('egress')
        ? { egress: { ...next.egress, host: cur.egress.host, port: cur.egress.port } }
        : {}),
      ...(touched.has('ingress') && (ingressLive || !ingress)
        ? {
            listenHost: next.listenHost,
            listenPort: next.listenPort,
            limits: next.limits,
            tls: next.tls,
            certFile: next.certFile,
            keyFile: next.keyFile,
          }
        : {}),
    };

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
    const tls = await loadTlsMaterial({ stateDir: cfg.stateDir, tls: cfg.tls });
    const logs = new Logs(log.output, cfg.logs, log.child('logs'));
    this.#logs = logs;
    // Monitoring: metrics fed by the data path through the access record; the admin listener
    // serves them with the status and the actions. Off with `--admin off` and no probes.
    // The ingress's own list follows rotations; with workers, the files as read at start.
    const certificates =
      this.#hooks.certificates ??
      (() => certificateDetails(this.#ingress?.certificates() ?? servedCertificates(tls)));
    const monitored = cfg.admin.listen !== 'off' || cfg.admin.probes !== undefined;
    const parts = {
      settings: () => this.#cfg,
      logs,
      get supervisor() {
        return supervisor;
      },
      ingress: () => this.#ingress,
      egress: () => this.#egress,
      pool: () => this.#pool,
      https: () => front.address,
      reloads: () => this.reloads,
      ready: () => this.isReady(),
      draining: () => this.#stopping,
      certificates,
      effectiveConfig: this.#hooks.effectiveConfig ?? (() => ({})),
      drain: () => this.#drain(),
      reload:
        this.#hooks.reloadFile ??
        (async (): Promise<ActionResult> => ({
          status: 409,
          body: {
            ok: false,
            error: { code: ErrorCode.ADMIN_ACTION_REFUSED, message: 'no config file to reload' },
          },
        })),
      log: log.child('admin'),
    };
    const tele = cfg.telemetry;
    const metrics = monitored || tele.endpoint !== undefined ? buildMetrics(parts) : undefined;
    // OTLP: imported only when an endpoint is set (nothing OpenTelemetry otherwise).
    const otlp =
      tele.endpoint !== undefined && metrics
        ? new (await import('./metrics/otlp-export.ts')).OtlpExporter({
            endpoint: tele.endpoint,
            serviceName: tele.serviceName,
            traces: tele.traces,
            metricsIntervalMs: tele.metricsIntervalMs,
            snapshot: () => metrics.snapshot(),
            log: log.child('otlp'),
          })
        : undefined;
    const spans = otlp && tele.traces ? otlp : undefined;
    const access = logs.accessLog();
    const accessLog = metrics
      ? (e: Parameters<typeof access>[0]): void => {
          metrics.record(e);
          spans?.span(e);
          access(e);
        }
      : access;
    const trace = tele.traceparent ? traceOf : undefined;
    const whenReady = metrics
      ? (ms: number) => {
          metrics.requests.held++;
          return supervisor.whenReady(ms);
        }
      : (ms: number) => supervisor.whenReady(ms);
    const env = { ...process.env };
    if (cfg.command && env.PORT === undefined) env.PORT = String(cfg.appPort ?? (await freePort()));
    // With a config file, the app gets its config and secrets API (a child only: an attached
    // app cannot be handed the token). It starts before the app, whose environment it fills.
    const concerns: Concern[] = [logs];
    // Egress: its port is up before the app starts (which is told its URL) and closes only
    // once the app has exited, so the app's last calls out still go (RELIABILITY R4, R10).
    const egress = new Egress({
      settings: cfg.egress,
      accessLog: logs.accessLog(),
      log: log.child('egress'),
    });
    this.#egress = egress;
    concerns.push({
      name: egress.name,
      start: async () => {
        await egress.start();
        Object.assign(env, egress.env());
      },
      stop: (deadline) => egress.stop(deadline),
    });
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
      // Each worker reads the files itself (and watches them); the generated pair is named.
      tls: tls.settings,
      stateDir: cfg.stateDir,
      ...(cfg.httpRedirect ? { httpRedirect: cfg.httpRedirect } : {}),
      limits: cfg.limits,
      access: cfg.logs.access,
      level: cfg.logs.level,
      appProtocol: cfg.appProtocol,
      metrics: metrics !== undefined,
      traceparent: tele.traceparent,
      // Each worker exports its own spans (worker-main.ts); the metrics go from here.
      ...(spans && tele.endpoint !== undefined
        ? { telemetry: { endpoint: tele.endpoint, serviceName: tele.serviceName } }
        : {}),
    };
    // Workers and the config API are loaded only when used: each module less is start-up time
    // (bench/startup.ts).
    const pool =
      cfg.workers > 1
        ? new (await import('./workers/index.ts')).WorkerPool({
            count: cfg.workers,
            host: cfg.listenHost,
            port: cfg.listenPort,
            entry: fileURLToPath(workerEntry()),
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
        stateDir: cfg.stateDir,
        ...(cfg.httpRedirect ? { httpRedirect: cfg.httpRedirect } : {}),
        log: log.child('ingress'),
        upstream: () => supervisor.upstream(),
        whenReady,
        notReadyReason: () => supervisor.notReadyReason(),
        get readyTimeoutMs() {
          return readyTimeoutMs();
        },
        accessLog,
        limits: cfg.limits,
        appProtocol: cfg.appProtocol,
        ...(trace ? { trace } : {}),
      });
    if (front instanceof Ingress) this.#ingress = front;
    const ingress = front;
    if (otlp) concerns.push(otlp);
    // The HTTPS port is bound before the app starts: with the port taken, Pillion exits before
    // the app has run (and done its migrations).
    concerns.push(ingress);
    if (cfg.command && cfg.configFile !== undefined) {
      const { AppApi } = await import('./admin/app-api.ts');
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
    // Bound before the app starts: an admin address that cannot be bound is a start error.
    const admin = metrics && cfg.admin.listen !== 'off' ? buildAdmin(parts, metrics) : undefined;
    if (admin) concerns.push(admin);
    this.#admin = admin;
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
    this.#drain = () => onShutdown('SIGTERM');
    for (const sig of SHUTDOWN) process.on(sig, onShutdown);
    for (const sig of forwarded) process.on(sig, onForward);
    let started: Concern[] = [];
    let deadline: AbortSignal | undefined;
    try {
      started = await startAll(concerns, log);
      // Start-up (config resolution, module loading, the certificate) leaves V8's heap about
      // twice what is live, and nothing shrinks it while Pillion idles: V8's memory reducer
      // only runs once a major GC has. One, marked incrementally, once start-up has settled
      // lets the reducer take an idle Pillion from 80-83 to 73 MiB RSS some ten seconds later
      // (docs/install.md, "Memory").
      wakeMemoryReducerAfterStart();
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
      deadline ??= AbortSignal.timeout(STOP_GRACE_MS);
      // The app has exited (or never started): now its config API and egress port may close.
      for (const c of started.filter(
        (s) => s.name === 'app-api' || s.name === 'otlp' || s.name === 'egress',
      ))
        await c.stop(deadline);
      for (const sig of SHUTDOWN) process.off(sig, onShutdown);
      for (const sig of forwarded) process.off(sig, onForward);
      // Logs stop last, so the app's final lines are flushed; the admin listener stays up
      // through that flush, so a stalled sink's drops can still be read from /metrics.
      await logs.stop(deadline);
      for (const c of started.filter((s) => s.name === 'admin')) await c.stop(deadline);
    }
  }

  /** Once the app is first ready: the one line that says where to point a browser. */
  async #announce(supervisor: Supervisor, ingress: Front): Promise<void> {
    const up = await supervisor.whenReady(2 ** 31 - 1);
    const at = ingress.address;
    if (!up || !at) return;
    const host = at.host === '0.0.0.0' || at.host === '::' ? 'localhost' : at.host;
    const url = `https://${host.includes(':') ? `[${host}]` : host}:${at.port}`;
    const admin = this.#admin;
    this.#log.info(`serving ${url} -> app ${up.host}:${up.port}`, {
      url,
      app: `${up.host}:${up.port}`,
      ...(admin?.address ? { admin: admin.address, admin_token_file: admin.tokenFile } : {}),
      ...(admin?.probesAddress ? { probes: admin.probesAddress } : {}),
    });
  }
}

/** What the ingress takes on a reload (`Ingress.prepare`). */
export interface IngressSlice {
  host: string;
  port: number;
  limits: RunConfig['limits'];
  tls: RunConfig['tls'];
}

function ingressSlice(c: RunConfig): IngressSlice {
  return { host: c.listenHost, port: c.listenPort, limits: c.limits, tls: c.tls };
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

/** The worker entry module beside this one: the source in a checkout, or `dist/worker-main.js`
 * where the published bundle (scripts/build.ts) put this code into a chunk of `dist/`. */
function workerEntry(): URL {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return new URL(`./worker-main.${ext}`, import.meta.url);
}
