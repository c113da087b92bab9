// Why the app is not ready, in words: for the log while Pillion waits for the app's port, and
// for the 503 a held request gets (Supervisor.notReadyReason).
import type { Upstream } from './health.ts';
import { treeListeningSockets } from './port-detect.ts';

/** First word after this long without a ready app; then again at doubling intervals … */
export const NOT_READY_FIRST_MS = 5000;
/** … at most this far apart. */
export const NOT_READY_EVERY_MAX_MS = 60_000;

/** When to say it next, given when it was last said (elapsed since the start, in ms). */
export function nextNotReadyAt(saidAtMs: number): number {
  return saidAtMs + Math.min(saidAtMs, NOT_READY_EVERY_MAX_MS);
}

export interface WaitingFor {
  /** The port Pillion was told (`--app-port`), if any. */
  appPort?: number;
  /** The app's PID; absent in attach mode. */
  pid?: number;
  /** `PORT` as the app got it. */
  envPort?: string;
  /** The port found, when the wait is for a readiness probe to pass. */
  found?: Upstream;
  probe: string;
  elapsedMs: number;
}

/**
 * One sentence on what Pillion sees while the app is not ready: "no listening port after 5 s;
 * the app's tree listens on 18131; PORT=18130 was set".
 */
export async function describeWait(w: WaitingFor): Promise<string> {
  const after = `after ${Math.round(w.elapsedMs / 1000)} s`;
  if (w.found) {
    return `the app listens on ${w.found.port} but readiness (${w.probe}) has not passed ${after}`;
  }
  const what =
    w.appPort === undefined ? 'no listening port' : `nothing listens on port ${w.appPort}`;
  const parts = [`${what} ${after}`];
  if (w.pid !== undefined) {
    const ports = (await treeListeningSockets(w.pid).catch(() => [])).map((s) => s.port);
    parts.push(
      ports.length > 0
        ? `the app's tree listens on ${ports.join(', ')}`
        : "the app's tree listens on no TCP port",
    );
    parts.push(w.envPort === undefined ? 'PORT was not set' : `PORT=${w.envPort} was set`);
  }
  return parts.join('; ');
}

/** The 503's reason while the app waits for its next start after exiting. */
export function describeBackoff(status: number, failures: number, nextAtMs: number): string {
  const inS = Math.max(0, (nextAtMs - performance.now()) / 1000).toFixed(1);
  const times = failures > 1 ? ` (${failures} times in a row)` : '';
  return `the app exited with status ${status}${times}; next start in ${inS} s`;
}
