// Sidecar wires the concerns together from a RunConfig: it orders start, stop and drain, and
// turns the app's exit into Pillion's exit code. The work itself stays in the concerns.
import { createServer } from 'node:net';
import type { Concern } from './core/concern.ts';
import type { Logger } from './core/log.ts';
import { Ingress } from './ingress/index.ts';
import type { EdgeLimits } from './ingress/limits.ts';
import { loadTlsMaterial } from './ingress/tls-context.ts';
import { createAccessLog } from './logs/access-log.ts';
import { Supervisor } from './supervisor/index.ts';

export interface RunConfig {
  /** The app's command; absent means attach to an app already listening on appPort. */
  command?: string[];
  listenHost: string;
  listenPort: number;
  appPort?: number;
  certFile?: string;
  keyFile?: string;
  stateDir: string;
  drainTimeoutMs: number;
  stopTimeoutMs: number;
  readyTimeoutMs: number;
  /** Ingress limits and timeouts over the defaults in docs/edge.md. */
  limits?: Partial<EdgeLimits>;
}

/** Signals passed straight to the app; SIGTERM and SIGINT first drain, then reach it. */
const FORWARDED = ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;
const SHUTDOWN = ['SIGTERM', 'SIGINT'] as const;

export class Sidecar {
  readonly #cfg: RunConfig;
  readonly #log: Logger;
  #ingress: Ingress | undefined;

  constructor(cfg: RunConfig, log: Logger) {
    this.#cfg = cfg;
    this.#log = log;
  }

  get ingress(): Ingress | undefined {
    return this.#ingress;
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
    const env = { ...process.env };
    if (cfg.command && env.PORT === undefined) env.PORT = String(cfg.appPort ?? (await freePort()));
    const supervisor = new Supervisor({
      command: cfg.command,
      appPort: cfg.appPort,
      env,
      stopTimeoutMs: cfg.stopTimeoutMs,
      log: log.child('supervisor'),
      out: log.output,
    });
    const ingress = new Ingress({
      host: cfg.listenHost,
      port: cfg.listenPort,
      tls,
      log: log.child('ingress'),
      upstream: () => supervisor.upstream(),
      whenReady: (ms) => supervisor.whenReady(ms),
      readyTimeoutMs: cfg.readyTimeoutMs,
      accessLog: createAccessLog(log.output),
      limits: cfg.limits,
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
      shutdown(sig);
    };
    const onForward = (sig: NodeJS.Signals): void => supervisor.signal(sig);
    for (const sig of SHUTDOWN) process.on(sig, onShutdown);
    for (const sig of FORWARDED) process.on(sig, onForward);
    try {
      await startAll([supervisor, ingress], log);
      const first = await Promise.race([
        stopRequested,
        supervisor.exited.then(() => 'exited' as const),
      ]);
      const drain = AbortSignal.timeout(cfg.drainTimeoutMs);
      if (first === 'exited') {
        log.info('app exited by itself; draining');
        await ingress.stop(drain);
        return await supervisor.exited;
      }
      log.info('stop signal received; draining', {
        signal: first,
        drain_timeout_ms: cfg.drainTimeoutMs,
      });
      await ingress.stop(drain);
      await supervisor.stop(drain, first);
      return cfg.command ? await supervisor.exited : 0;
    } finally {
      for (const sig of SHUTDOWN) process.off(sig, onShutdown);
      for (const sig of FORWARDED) process.off(sig, onForward);
    }
  }
}

/** Starts concerns in order; if one fails, stops those already started, in reverse. */
async function startAll(concerns: Concern[], log: Logger): Promise<void> {
  const started: Concern[] = [];
  for (const c of concerns) {
    try {
      await c.start();
      started.push(c);
    } catch (err) {
      log.error('start failed; stopping what was started', { concern: c.name });
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
