// R9 figures: an app that exits at once, restarted by the real CLI (bin/pillion.js) with a
// short back-off (2 ms doubling to 16 ms), N times. After each restart Pillion's RSS (VmRSS)
// and fds are sampled; every 100 restarts, with one instance held up for 2 s (a file the app
// checks) so no restart is in progress, the fewest fds over 1 s, RSS, and the V8 heap in use
// after a full GC (test/fixtures/heap-probe.mjs, loaded into Pillion) are taken. Prints the
// least-squares slopes of RSS and of the collected heap per restart after the first 100 (V8
// warming up), the held samples (the row: no per-restart leak of 1 fd), and the load average.
// Run: npm run bench:crash-loop -- [restarts=1000]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alive, startPillion, tempDir } from '../test/e2e/harness.ts';
import { fdCount } from '../test/edge/fd-flood.ts';
import { loadAverage } from './lib/meta.ts';

function rssKb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

const max = Number(process.argv[2] ?? 1000);
const loadBefore = loadAverage();
const dir = tempDir();
const hold = join(dir, 'hold');
const heapFile = join(dir, 'heap.json');
const PROBE = fileURLToPath(new URL('../test/fixtures/heap-probe.mjs', import.meta.url));
/** Heap in use after the probe's last full GC, in KiB. */
function heapKb(): number {
  try {
    return Math.round(JSON.parse(readFileSync(heapFile, 'utf8')).heapUsed / 1024);
  } catch {
    return 0;
  }
}
const p = startPillion(
  [
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-port',
    '1',
    '--max-restarts',
    String(max),
    '--max-start-failures',
    '0',
    '--backoff-base',
    '2ms',
    '--backoff-max',
    '16ms',
    '--',
    '/bin/sh',
    '-c',
    `if [ -e ${hold} ]; then sleep 3; fi; exit 3`,
  ],
  {
    bin: true,
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc --import ${PROBE}`.trim(),
      HEAP_PROBE_FILE: heapFile,
    },
  },
);
const pid = p.proc.pid as number;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let restarts = 0;
const samples: { n: number; rssKb: number }[] = [];
const held: { n: number; fds: number; rssKb: number; heapKb: number }[] = [];
const t0 = performance.now();
let last = -1;
while (alive(pid) && restarts < max) {
  restarts = p.lines.filter((l) => l.msg === 'app restarted').length;
  if (restarts !== last) {
    last = restarts;
    const rss = rssKb(pid);
    if (rss > 0 && restarts > 0) samples.push({ n: restarts, rssKb: rss });
  }
  if (restarts > 0 && restarts < max && restarts % 100 === 0 && held.at(-1)?.n !== restarts) {
    writeFileSync(hold, '');
    // The instance after this one is held: wait until it runs, then sample.
    while (alive(pid) && p.lines.filter((l) => l.msg === 'app restarted').length === restarts)
      await sleep(5);
    rmSync(hold, { force: true });
    // The probe's GC runs every second: one past the hold's start.
    await sleep(1100);
    let fds = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 50; i++) {
      fds = Math.min(fds, fdCount(pid));
      await sleep(20);
    }
    held.push({ n: restarts, fds, rssKb: rssKb(pid), heapKb: heapKb() });
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
    load_before: loadBefore,
    load_after: loadAverage(),
  }),
);
