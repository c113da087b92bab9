// The loops that watch the app's health: waiting for it to be ready (with a word in the log
// when that takes long), re-checking readiness, and liveness. The Supervisor acts on what
// they find.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../core/log.ts';
import { type Probe, runProbe, type Upstream } from './health.ts';
import { describeWait, NOT_READY_FIRST_MS, nextNotReadyAt } from './not-ready.ts';
import type { LifecycleOptions } from './options.ts';
import { type FoundPort, findAppPort } from './port-detect.ts';

/**
 * How often the app's port is looked for: 10 ms at first, doubling to 100 ms. Most apps
 * listen within the first few hundred ms, and each poll is cheap (a few /proc reads), so the
 * first request is not held a whole 100 ms interval past the moment the app listens.
 */
const FIRST_POLL_MS = 10;
const POLL_MS = 100;

export interface ReadyWait {
  /** `--app-port`; absent: the port is detected from the process tree of `pid`. */
  appPort?: number;
  /** The app's PID; absent in attach mode. */
  pid?: number;
  env: NodeJS.ProcessEnv;
  /** When the app was started (performance.now()). */
  startedAt: number;
  readiness: Probe;
  probeTimeoutMs: number;
  /** False once this wait no longer matters (the instance exited, Pillion is stopping). */
  live(): boolean;
  /** Why the app is not ready yet: 5 s after the start, then at doubling intervals. */
  notReady(why: string): void;
}

/**
 * Polls until the app listens and its readiness check passes; resolves with where it
 * listens, or undefined once `live()` is false.
 */
export async function waitForReady(w: ReadyWait): Promise<FoundPort | undefined> {
  const preferred = Number(w.env.PORT);
  let sayAt = NOT_READY_FIRST_MS;
  let pollMs = FIRST_POLL_MS;
  let found: FoundPort | undefined;
  while (w.live()) {
    found ??= await findAppPort(w.appPort, w.pid, preferred);
    const elapsedMs = performance.now() - w.startedAt;
    if (elapsedMs >= sayAt) {
      // An app that never listens, or listens elsewhere, would otherwise leave clients
      // waiting for a 503 with nothing in the log.
      sayAt = nextNotReadyAt(elapsedMs);
      const why = await describeWait({
        appPort: w.appPort,
        pid: w.pid,
        envPort: w.env.PORT,
        found,
        probe: w.readiness.kind,
        elapsedMs,
      });
      if (!w.live()) return undefined;
      w.notReady(why);
    }
    // A LISTEN socket is the default check; an http or exec probe must pass as well.
    if (
      found &&
      (w.readiness.kind === 'tcp' || (await runProbe(w.readiness, found, w.probeTimeoutMs)))
    ) {
      return w.live() ? found : undefined;
    }
    await sleep(pollMs);
    pollMs = Math.min(POLL_MS, pollMs * 2);
  }
  return undefined;
}

/**
 * With --readiness-interval, keeps checking readiness after it first passed; `changed` hears
 * each change (a failing check takes the app out of service until one passes).
 */
export async function recheckReadiness(o: {
  readiness: Probe;
  /** The timings in force, read each round (a reload may change them). */
  timings(): Pick<LifecycleOptions, 'readinessIntervalMs' | 'probeTimeoutMs'>;
  up: Upstream;
  live(): boolean;
  changed(ready: boolean): void;
}): Promise<void> {
  if (!o.timings().readinessIntervalMs) return;
  let ready = true;
  while (o.live()) {
    await sleep(o.timings().readinessIntervalMs || 1000);
    if (!o.live()) return;
    const ok = await runProbe(o.readiness, o.up, o.timings().probeTimeoutMs);
    if (!o.live() || ok === ready) continue;
    ready = ok;
    o.changed(ok);
  }
}

/**
 * Runs the liveness check every interval (failures within the start-up grace do not count);
 * resolves true once it failed `failures` times in a row, false once `live()` is false.
 */
export async function watchLiveness(o: {
  /** The timings in force, read each round (a reload may change them). */
  timings(): Pick<LifecycleOptions, 'liveness' | 'startupGraceMs' | 'probeTimeoutMs'>;
  up: Upstream;
  /** When the app was started (performance.now()): the start-up grace counts from here. */
  startedAt: number;
  live(): boolean;
  log: Logger;
  appPid?: number;
}): Promise<boolean> {
  let failures = 0;
  while (o.live()) {
    const first = o.timings().liveness;
    if (!first) return false;
    await sleep(first.intervalMs);
    if (!o.live()) return false;
    const t = o.timings();
    if (!t.liveness) return false;
    const { probe, failures: threshold } = t.liveness;
    if (performance.now() < o.startedAt + t.startupGraceMs) continue;
    if (await runProbe(probe, o.up, t.probeTimeoutMs)) {
      failures = 0;
      continue;
    }
    failures++;
    o.log.warn('liveness check failed', {
      probe: probe.kind,
      failures,
      threshold,
      app_pid: o.appPid,
    });
    if (failures >= threshold) return o.live();
  }
  return false;
}
