// What the restart and kill benches share: the real CLI in front of the fixture app
// (test/e2e/harness.ts), the paced GET+POST load they run under, and their percentile.
import { startPacedLoad } from '../../test/e2e/harness.ts';

export { startAppBehindPillion } from '../../test/e2e/harness.ts';
export { loadAverage } from './meta.ts';

/** The `p` quantile of sorted values (0 for none). */
export function pct(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** The open-loop GET+POST load at `rps` over HTTP/1.1 and HTTP/2, bounded by `loadMs`. */
export function chaosLoad(port: number, rps: number, loadMs: number) {
  return startPacedLoad({
    port: () => port,
    intervalMs: 1000 / rps,
    max: Math.ceil((rps * loadMs) / 1000),
    maxMs: loadMs,
    posts: true,
    // Requests held while the app is down stay open: enough connections that none waits in the
    // client's own queue (16 would hold back every HTTP/1.1 request past the 16th held one).
    sockets: 512,
  });
}
