// Overhead of the egress port: the same small GET to a TLS service, sent directly (undici pool,
// keep-alive) and through `pillion run`'s egress port; Pillion's CPU per request from
// /proc/<pid>/stat, latency percentiles of both. The timeouts are measured by
// bench/egress-timeouts.ts. Run: npm run bench:egress   (EGRESS_REQUESTS=N, default 4000;
// EGRESS_CONCURRENCY, default 8)
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { makePki } from '../test/egress/certs.ts';
import { startUpstream } from '../test/egress/upstream.ts';
import { startEgressPillion } from './lib/egress-pillion.ts';

const N = Number(process.env.EGRESS_REQUESTS ?? 4000);
const C = Number(process.env.EGRESS_CONCURRENCY ?? 8);
const WARMUP = 500;
/** Bound on any one phase, so a broken run ends. */
const PHASE_MS = 120_000;
const TICK_US = 1e6 / 100; // USER_HZ on Linux

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0).toFixed(3));
};

/** utime + stime of a process, in µs. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

/** `count` GETs of `path` through `pool`, `C` at a time; the latency of each in ms. */
async function load(pool: Pool, path: string, count: number): Promise<number[]> {
  const lat: number[] = [];
  const end = Date.now() + PHASE_MS;
  let next = 0;
  const worker = async () => {
    while (next < count && Date.now() < end) {
      next++;
      const t = performance.now();
      const r = await pool.request({ method: 'GET', path });
      await r.body.text();
      if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
      lat.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: C }, worker));
  return lat;
}

const pki = makePki();
const up = await startUpstream('bench', pki);
// EGRESS_PROFILE=DIR writes a CPU profile of Pillion there when it exits.
const prof = process.env.EGRESS_PROFILE;
const { p, egressUrl } = await startEgressPillion(
  pki.dir,
  [
    '    bench:',
    `      endpoints: [${up.url}]`,
    `      tls: { ca: ${JSON.stringify(pki.caFile)} }`,
  ],
  prof ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${prof}` } : undefined,
);
try {
  const direct = new Pool(up.url, { connect: { ca: pki.ca }, connections: C });
  const via = new Pool(egressUrl, { connections: C });
  await load(direct, '/x', WARMUP);
  await load(via, '/bench/x', WARMUP);
  up.seen.length = 0;
  // The machine's load when the measure began and ended: the figures are only as quiet as it.
  const load0 = loadavg();
  const d = await load(direct, '/x', N);
  const cpu0 = cpuUs(p.proc.pid as number);
  const t0 = performance.now();
  const e = await load(via, '/bench/x', N);
  const wall = performance.now() - t0;
  const cpu = cpuUs(p.proc.pid as number) - cpu0;
  console.log(
    JSON.stringify({
      bench: 'egress-overhead',
      requests: e.length,
      concurrency: C,
      // Pillion's whole process (egress port, its access log line, the supervisor's idle work).
      pillion_cpu_us_per_req: Math.round(cpu / e.length),
      rps_via_egress: Math.round(e.length / (wall / 1000)),
      direct_p50_ms: pct(d, 50),
      direct_p99_ms: pct(d, 99),
      egress_p50_ms: pct(e, 50),
      egress_p99_ms: pct(e, 99),
      added_p50_ms: Number((pct(e, 50) - pct(d, 50)).toFixed(3)),
      p50_ratio: Number((pct(e, 50) / pct(d, 50)).toFixed(2)),
      loadavg_before: load0.map((x) => x.toFixed(2)).join(' '),
      loadavg_after: loadavg()
        .map((x) => x.toFixed(2))
        .join(' '),
    }),
  );
  await direct.close();
  await via.close();
} finally {
  p.proc.kill('SIGTERM');
  await p.exited;
  await up.close();
}
