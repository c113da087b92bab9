// S4 figures: 100 certificate rotations of the real CLI's Secret-volume pair while an open-loop
// load sends 500 requests a second over HTTP/1.1 and HTTP/2 (fresh and kept connections), with
// 10 torn writes between (test/e2e/rotation-under-load.ts, the run the S4 test makes). Prints
// the per-rotation lag, from the file swap to the end of the first handshake that serves the
// new certificate (p50, p90, max), the rate offered and how late the schedule ran, and the
// failures. Pass: max lag ≤ 2 s, 0 failed requests or handshakes (client side and Pillion's
// pillion_tls_handshake_failures_total), every scheduled request answered.
// Run: npm run bench:tls-rotation -- [rotations=100] [rate=500]
import { quantile, rotateUnderLoad } from '../test/e2e/rotation-under-load.ts';
import { loadAverage } from './lib/meta.ts';

const rotations = Number(process.argv[2] ?? 100);
const rate = Number(process.argv[3] ?? 500);
const MAX_LAG_MS = 2000;

const load0 = loadAverage();
const r = await rotateUnderLoad({
  rotations,
  torn: Math.round(rotations / 10),
  rate,
  maxSeconds: 900,
});
const lag = (q: number): string => `${quantile(r.lagsMs, q).toFixed(0)} ms`;
const maxLag = Math.max(...r.lagsMs);
const serverFailures = r.metrics.sum('pillion_tls_handshake_failures_total');
const lagOk = r.lagsMs.length === rotations && maxLag <= MAX_LAG_MS;
const failuresOk = r.failures.length === 0 && serverFailures === 0 && r.answered === r.scheduled;
console.log(
  `S4 rotation under load: ${rotations} rotations, ${r.tornKinds.length} torn writes (${[...new Set(r.tornKinds)].join(', ')}), load average ${load0} before`,
);
console.log(
  `  load: ${r.scheduled} requests scheduled at ${rate}/s over ${r.loadSeconds.toFixed(1)} s (${Math.round(r.scheduled / r.loadSeconds)}/s offered), sent at most ${r.maxLateMs.toFixed(0)} ms after their slot; ${r.answered} answered 200`,
);
console.log(
  `  lag, file swap -> first handshake serving the new certificate: p50 ${lag(0.5)}, p90 ${lag(0.9)}, max ${maxLag.toFixed(0)} ms over ${r.lagsMs.length} rotations  ${lagOk ? 'PASS' : 'FAIL'} (max <= ${MAX_LAG_MS} ms)`,
);
for (const kind of ['swap', 'rename'] as const) {
  const mine = r.lagsMs.filter((_, i) => r.lagKinds[i] === kind);
  console.log(
    `    ${kind === 'swap' ? '..data symlink swaps' : 'renames into place (key after cert)'}: ${mine.length}, p50 ${quantile(mine, 0.5).toFixed(0)} ms, max ${Math.max(...mine).toFixed(0)} ms`,
  );
}
console.log(
  `  failures: ${r.failures.length} client-side, ${serverFailures} handshakes failed in Pillion, ${r.scheduled - r.answered} unanswered  ${failuresOk ? 'PASS' : 'FAIL'} (0)`,
);
for (const f of r.failures.slice(0, 10)) console.log(`    ${f}`);
console.log(
  `  reloads: ${r.metrics.value('pillion_tls_certificate_reloads_total', { result: 'ok' })} ok, ${r.metrics.value('pillion_tls_certificate_reloads_total', { result: 'failed' })} failed (torn)`,
);
console.log(`  load average ${loadAverage()} after`);
console.log(`S4: ${lagOk && failuresOk ? 'PASS' : 'FAIL'}`);
process.exitCode = lagOk && failuresOk ? 0 : 1;
