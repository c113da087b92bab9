// The lifecycle timings a reload applies to a running app without restarting it: back-off,
// the restart window, the stop timeout, check intervals and timeouts, the drain delay.
import type { LifecycleOptions } from './options.ts';

/** What a reload of the timings takes. */
export interface Timings {
  stopTimeoutMs: number;
  lifecycle: LifecycleOptions;
}

/** `life` with the timings of `next`; the policy, signals and the checks themselves stay. */
export function retimed(life: LifecycleOptions, next: LifecycleOptions): LifecycleOptions {
  return {
    ...life,
    backoff: next.backoff,
    restartWindowMs: next.restartWindowMs,
    drainDelayMs: next.drainDelayMs,
    readinessIntervalMs: next.readinessIntervalMs,
    startupGraceMs: next.startupGraceMs,
    probeTimeoutMs: next.probeTimeoutMs,
    ...(life.liveness && next.liveness
      ? {
          liveness: {
            ...life.liveness,
            intervalMs: next.liveness.intervalMs,
            failures: next.liveness.failures,
          },
        }
      : {}),
  };
}
