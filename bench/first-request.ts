// Start-up of the real CLI (spawn to the HTTPS port accepting, and to the first 200), then the
// latency of the first and second request on fresh TLS connections to the real ingress (in
// this process, in front of a raw-socket app), full handshake and resumed. Run:
// npm run bench:first-request   (STARTUP_RUNS=N for more start-ups, default 7)
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { startEdge } from '../test/edge/edge-harness.ts';
import { exchange } from '../test/edge/raw-client.ts';
import { startupRuns } from './startup.ts';

const CONNECTIONS = 200;
const REQUEST = 'GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0).toFixed(2));
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Math.round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
};

const startups = Math.max(5, Number(process.env.STARTUP_RUNS ?? 7));
for (const cold of [false, true]) {
  // Start-up is mostly CPU-bound module loading: a busy machine shows in it at once.
  const loadBefore = loadavg()[0];
  const runs = await startupRuns(startups, cold);
  const accept = runs.map((r) => r.acceptMs);
  const first200 = runs.map((r) => r.first200Ms);
  console.log(
    JSON.stringify({
      bench: 'startup',
      // cold: an empty compile cache, as on the first run after an install.
      compile_cache: cold ? 'cold' : 'warm',
      runs: runs.length,
      // From spawning `node bin/pillion.js run … -- node app` to a TLS handshake on the port.
      accept_ms_median: median(accept),
      accept_ms_min: Math.round(Math.min(...accept)),
      accept_ms_max: Math.round(Math.max(...accept)),
      // … and to the first 200 through it (includes the app's own start-up).
      first_200_ms_median: median(first200),
      first_200_ms_min: Math.round(Math.min(...first200)),
      first_200_ms_max: Math.round(Math.max(...first200)),
      load_average_1m: [loadBefore, loadavg()[0]].map((l) => Number(l.toFixed(2))),
    }),
  );
}

const edge = await startEdge();
try {
  for (const resume of [false, true]) {
    const first: number[] = [];
    const second: number[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const x = await exchange(edge.port, false, resume);
      let t = performance.now();
      x.socket.write(REQUEST);
      await x.settle(1, 2000);
      first.push(performance.now() - t);
      t = performance.now();
      x.socket.write(REQUEST);
      await x.settle(2, 2000);
      second.push(performance.now() - t);
      await x.close();
    }
    console.log(
      JSON.stringify({
        bench: 'first-request',
        handshake: resume ? 'resumed' : 'full',
        connections: CONNECTIONS,
        first_ms_p50: pct(first, 50),
        first_ms_p90: pct(first, 90),
        second_ms_p50: pct(second, 50),
        second_ms_p90: pct(second, 90),
      }),
    );
  }
} finally {
  await edge.stop();
}
