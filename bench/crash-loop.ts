// R9 figures: an app that exits at once, restarted by the real CLI (bin/pillion.js) with a
// short back-off (2 ms doubling to 16 ms), N times (test/e2e/crash-loop.ts). After each restart
// Pillion's RSS (VmRSS) and fds are sampled; after 20 restarts and every 100, with one instance
// held up for 3 s (a file the app checks) so no restart is in progress, the fewest fds and the
// least RSS over 1 s, and the V8 heap in use after a full GC (test/fixtures/heap-probe.mjs,
// loaded into Pillion unless `nogc`) are taken. Prints R9's RSS figure, the held RSS's growth
// from restart 20 to the last held sample, with pass/fail at rssGrowthBoundKib (10% or 12 MiB),
// the least-squares slopes of RSS and of the collected heap per restart after the first 100
// (V8 warming up), the held samples (the row: no per-restart leak of 1 fd), and the load
// average. With `nogc` the RSS is V8 collecting when it chooses, which the bar also applies to.
// Run: npm run bench:crash-loop -- [restarts=1000] [gc|nogc]
import { rmSync, writeFileSync } from 'node:fs';
import { rssGrowthBoundKib, startCrashLoop } from '../test/e2e/crash-loop.ts';
import { alive, fdCount, rssKib } from '../test/e2e/harness.ts';
import { loadAverage } from './lib/meta.ts';

const max = Number(process.argv[2] ?? 1000);
const gc = process.argv[3] !== 'nogc';
const loadBefore = loadAverage();
const loop = startCrashLoop({ max, holdS: 3, gc });
const { p, hold } = loop;
const heapKb = loop.heapKib;
const pid = loop.pid;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// Held samples after 20 restarts (past V8's first collections), every 100, and 10 before the end.
const targets = [20, ...Array.from({ length: Math.ceil(max / 100) }, (_, i) => 100 * (i + 1))]
  .filter((n) => n < max - 10)
  .concat(max - 10);
let restarts = 0;
const samples: { n: number; rssKb: number }[] = [];
const held: { n: number; fds: number; rssKb: number; heapKb: number }[] = [];
const t0 = performance.now();
let last = -1;
while (alive(pid) && restarts < max) {
  restarts = loop.restarts();
  if (restarts !== last) {
    last = restarts;
    const rss = rssKib(pid);
    if (rss > 0 && restarts > 0) samples.push({ n: restarts, rssKb: rss });
  }
  if (restarts >= (targets[held.length] ?? Number.POSITIVE_INFINITY)) {
    writeFileSync(hold, '');
    // The instance after this one is held: wait until it runs, then sample.
    while (alive(pid) && loop.restarts() === restarts) await sleep(5);
    rmSync(hold, { force: true });
    // The probe's GC runs every second: one past the hold's start, one within the sampling.
    await sleep(1100);
    let fds = Number.POSITIVE_INFINITY;
    let rss = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 50; i++) {
      fds = Math.min(fds, fdCount(pid));
      rss = Math.min(rss, rssKib(pid) || Number.POSITIVE_INFINITY);
      await sleep(20);
    }
    held.push({ n: restarts, fds, rssKb: rss, heapKb: heapKb() });
  }
  await sleep(2);
}
const code = await p.exited;
const seconds = (performance.now() - t0) / 1000;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

const fit = samples.filter((s) => s.n >= 100);
const kbPerRestart = slope(
  fit.map((s) => s.n),
  fit.map((s) => s.rssKb),
);
const heldFit = held.filter((h) => h.n >= 100 && h.heapKb > 0);
const heapKbPerRestart = slope(
  heldFit.map((h) => h.n),
  heldFit.map((h) => h.heapKb),
);
const planned = p.lines.filter((l) => l.msg === 'app exited; restarting after back-off');
console.log(
  JSON.stringify({
    restarts: planned.length,
    exit_code: code,
    seconds: Math.round(seconds),
    delays_ms: planned.slice(0, 6).map((l) => l.delay_ms),
    rss_mib: {
      first: Number(((samples[0]?.rssKb ?? 0) / 1024).toFixed(1)),
      at_100: Number(((samples.find((s) => s.n >= 100)?.rssKb ?? 0) / 1024).toFixed(1)),
      last: Number(((samples.at(-1)?.rssKb ?? 0) / 1024).toFixed(1)),
      max: Number((Math.max(...samples.map((s) => s.rssKb)) / 1024).toFixed(1)),
    },
    rss_slope_kib_per_restart_after_100: Number(kbPerRestart.toFixed(2)),
    rss_growth_per_1000_restarts_mib: Number(((kbPerRestart * 1000) / 1024).toFixed(1)),
    heap_after_gc_slope_kib_per_restart_after_100: Number(heapKbPerRestart.toFixed(2)),
    held: held.map(
      (h) =>
        `${h.n}: ${h.fds} fds, RSS ${(h.rssKb / 1024).toFixed(1)} MiB, heap ${(h.heapKb / 1024).toFixed(1)} MiB`,
    ),
    fds: [Math.min(...held.map((h) => h.fds)), Math.max(...held.map((h) => h.fds))],
    forced_gc: gc,
    load_before: loadBefore,
    load_after: loadAverage(),
  }),
);
// R9's RSS bar: the held RSS from restart 20 to the last held sample.
const warm = held[0];
const end = held.at(-1);
if (warm && end && end !== warm) {
  const growth = end.rssKb - warm.rssKb;
  const bound = rssGrowthBoundKib(warm.rssKb);
  const mib = (kb: number): string => (kb / 1024).toFixed(1);
  console.log(
    `R9 RSS${gc ? ' (GC every second)' : ' (no forced GC)'}: ${mib(warm.rssKb)} MiB after ${warm.n} restarts, ` +
      `${mib(end.rssKb)} MiB after ${end.n}: ${growth >= 0 ? '+' : ''}${mib(growth)} MiB ` +
      `(${((100 * growth) / warm.rssKb).toFixed(1)}%, bar <= +${mib(bound)} MiB): ${growth <= bound ? 'pass' : 'FAIL'}`,
  );
}
