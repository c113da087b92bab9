import type { Logger } from '../core/log.ts';
import { type BackoffOptions, DEFAULT_BACKOFF } from './backoff.ts';
import type { Probe } from './health.ts';
import type { CaptureStream } from './instance.ts';
import type { RestartPolicy } from './restart-policy.ts';

/** Liveness: a failing app is restarted. */
export interface LivenessOptions {
  probe: Probe;
  intervalMs: number;
  /** Consecutive failures that trigger a restart. */
  failures: number;
}

/** The app's lifecycle, as configured by `pillion run` flags. */
export interface LifecycleOptions {
  restart: RestartPolicy;
  /** Undefined: no limit. */
  maxRestarts?: number;
  /**
   * Exits in a row before the app was ever ready that end Pillion with the app's code (a
   * crash loop at start does not heal itself); 0: restart by policy forever.
   */
  maxStartFailures: number;
  backoff: BackoffOptions;
  /** How long a request is held while the app restarts, before 503. */
  restartWindowMs: number;
  /** On SIGTERM, how long new requests are still served (readiness already false). */
  drainDelayMs: number;
  /** The signal that stops the app; undefined: the one Pillion received (SIGTERM or SIGINT). */
  stopSignal?: NodeJS.Signals;
  /** Signals go to the app's whole process group. */
  signalGroup: boolean;
  /** Exit statuses of the app turned into another exit code for Pillion. */
  remapExit: Map<number, number>;
  /** Readiness check; tcp (the port accepts a connection) by default. */
  readiness: Probe;
  /** After the app is first ready, check readiness again this often; 0: never. */
  readinessIntervalMs: number;
  liveness?: LivenessOptions;
  /** After a start, liveness failures do not count for this long. */
  startupGraceMs: number;
  /** Timeout of one probe. */
  probeTimeoutMs: number;
}

export const DEFAULT_LIFECYCLE: LifecycleOptions = {
  restart: 'on-failure',
  // With the default back-off (1 s doubling), five failures take about 15 s: long enough for
  // a dependency that comes up a little late, short enough for an orchestrator to learn.
  maxStartFailures: 5,
  backoff: DEFAULT_BACKOFF,
  restartWindowMs: 10_000,
  drainDelayMs: 0,
  signalGroup: false,
  remapExit: new Map(),
  readiness: { kind: 'tcp' },
  readinessIntervalMs: 0,
  startupGraceMs: 0,
  probeTimeoutMs: 1000,
};

/** What a restart of the app can change: the rest needs Pillion itself restarted. */
export type AppSettings = Pick<
  SupervisorOptions,
  'command' | 'appPort' | 'stopTimeoutMs' | 'lifecycle'
>;

export interface SupervisorOptions {
  /** The app's command; absent in attach mode (an app Pillion did not start). */
  command?: string[];
  /** The app's port; absent means detect it from the process tree. */
  appPort?: number;
  env: NodeJS.ProcessEnv;
  /** Grace between the stop signal and SIGKILL. */
  stopTimeoutMs: number;
  lifecycle?: LifecycleOptions;
  /**
   * Called before the app is stopped for a restart, with readiness already false: resolves
   * once no request is in flight to the app (the ingress passes this in through the Sidecar).
   */
  quiesce?: (timeoutMs: number) => Promise<void>;
  /** Turns the app's stdout and stderr into log lines (the logs concern, through the Sidecar). */
  capture: CaptureStream;
  log: Logger;
}
