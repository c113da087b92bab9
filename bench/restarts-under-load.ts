// R2 through the real CLI: N graceful restarts, each by `pillion restart` (the admin API's
// POST /api/v1/restart, then waiting for a new ready app), under an open-loop GET+POST load at
// a fixed rate over HTTP/1.1 and HTTP/2 (harness.ts startPacedLoad); the app on a fixed port.
// Every outcome is reconciled with the app's log of the ids each instance received, and each
// request's hold for a restart is read from its access line (`held_ms`). Prints each figure
// with pass/fail against the row: 0 failed, 0 POSTs received twice, held <= the restart
// window (10 s by default); exits 1 if one fails.
// Run: npm run bench:restarts -- [restarts=100] [rps=500] [pause-ms=200]: the pause is how
// long the app serves between two restarts. Bounded: 300 s of load at most.
import { spawn } from 'node:child_process';
import { BIN } from '../test/e2e/harness.ts';
import { reconcileRestarts } from '../test/e2e/reconcile.ts';
import { chaosLoad, loadAverage, pct, startAppBehindPillion } from './lib/app-under-load.ts';

const restarts = Number(process.argv[2] ?? 100);
const rps = Number(process.argv[3] ?? 500);
const pauseMs = Number(process.argv[4] ?? 200);
/** Pillion's default `--restart-window`, which the run keeps. */
const RESTART_WINDOW_MS = 10_000;
const LOAD_MS = 300_000;
console.log(
  `R2 restarts under load: ${restarts} restarts at ${rps} req/s; load average ${loadAverage()}`,
);
const { p, port, events } = await startAppBehindPillion();
const admin = await p.admin();
const tokenFile = String(p.lines.find((l) => l.msg === 'admin listening')?.token_file);

/** `pillion restart`: asks the running Pillion for a restart and waits for the new ready app. */
const restart = (): Promise<number> =>
  new Promise((resolve) => {
    const c = spawn(
      process.execPath,
      [BIN, 'restart', '--admin', `${admin.host}:${admin.port}`, '--token-file', tokenFile],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    c.once('close', (code) => resolve(code ?? 1));
  });

const paced = chaosLoad(port, rps, LOAD_MS);
const started = Date.now();
const restartMs: number[] = [];
let refused = 0;
while (restartMs.length < restarts && Date.now() - started < LOAD_MS - 15_000) {
  const t0 = performance.now();
  if ((await restart()) !== 0) refused++;
  restartMs.push(performance.now() - t0);
  await new Promise((r) => setTimeout(r, pauseMs));
}
const sent = paced.sent();
const seconds = paced.seconds();
await paced.stop();
p.proc.kill('SIGTERM');
const code = await p.exited;

const r = reconcileRestarts(paced.outcomes, events);
const held = p.lines
  .filter((l) => l.source === 'access' && typeof l.held_ms === 'number')
  .map((l) => Number(l.held_ms))
  .sort((a, b) => a - b);
const lat = paced.outcomes.map((o) => o.end - o.start).sort((a, b) => a - b);
const unanswered = sent - paced.outcomes.length;
const restartsLogged = p.lines.filter(
  (l) => l.msg === 'restarting app' && l.reason === 'requested',
).length;
const figures = [
  {
    figure: 'restarts',
    value: restartMs.length,
    bound: `${restarts}, each logged`,
    pass: restartMs.length === restarts && restartsLogged === restarts && refused === 0,
  },
  {
    figure: 'failed requests',
    value: r.failed + unanswered,
    bound: '0',
    pass: r.failed + unanswered === 0,
  },
  {
    figure: 'POSTs received twice',
    value: r.postsReceivedTwice,
    bound: '0',
    pass: r.postsReceivedTwice === 0,
  },
  {
    figure: 'held for a restart (ms, access log held_ms)',
    value: `${held.length} requests, p50 ${pct(held, 0.5).toFixed(1)}, max ${(held.at(-1) ?? 0).toFixed(1)}`,
    bound: `<= ${RESTART_WINDOW_MS} (restart window)`,
    pass: held.length > 0 && (held.at(-1) ?? 0) <= RESTART_WINDOW_MS,
  },
  {
    figure: 'client time per request (ms)',
    value: `p50 ${pct(lat, 0.5).toFixed(1)}, p99 ${pct(lat, 0.99).toFixed(1)}, max ${(lat.at(-1) ?? 0).toFixed(1)}`,
    bound: `<= ${RESTART_WINDOW_MS} + the app's answer`,
    pass: (lat.at(-1) ?? 0) <= RESTART_WINDOW_MS + 1000,
  },
  { figure: 'Pillion exit code after SIGTERM', value: code, bound: '0', pass: code === 0 },
];
console.log(
  `  ${sent} requests (half POST, half HTTP/2) in ${seconds.toFixed(1)} s = ${Math.round(sent / seconds)} req/s; ${r.notReceivedOnce} not received exactly once; a restart (pillion restart, to the new app ready) took ${pct(
    [...restartMs].sort((a, b) => a - b),
    0.5,
  ).toFixed(0)} ms p50`,
);
for (const f of figures)
  console.log(`  ${f.figure}: ${f.value}  ${f.pass ? 'PASS' : 'FAIL'} (${f.bound})`);
for (const x of [...r.problems.slice(0, 5), ...paced.failures.slice(0, 5)]) console.log(`    ${x}`);
const pass = figures.every((f) => f.pass);
console.log(
  `R2: ${pass ? 'PASS' : 'FAIL'}; load average ${loadAverage()}; ${new Date().toISOString()}`,
);
process.exit(pass ? 0 : 1);
