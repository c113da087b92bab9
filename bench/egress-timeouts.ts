// How close to its configured timeout each egress timeout answers, through `pillion run`'s
// egress port: `connect` (an endpoint that accepts TCP and never answers the TLS ClientHello:
// 502), `per_try` (a service that never answers, no retry: 504) and `total` (the same service
// with retries: the attempts are cut at the total, 504). Each case is called N times one after
// the other; every figure is printed with pass/fail against ±10% of the timeout, and the
// process exits 1 if one fails. Run: npm run bench:egress-timeouts   (EGRESS_TIMEOUT_CALLS=N,
// default 5, at most 20)
import { createServer, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { makePki } from '../test/egress/certs.ts';
import { startUpstream } from '../test/egress/upstream.ts';
import { startEgressPillion } from './lib/egress-pillion.ts';

const CALLS = Math.min(20, Math.max(1, Number(process.env.EGRESS_TIMEOUT_CALLS ?? 5)));
/** Bound on one call, so a broken run ends. */
const CALL_LIMIT_MS = 10_000;

interface Case {
  service: string;
  what: string;
  timeoutMs: number;
  status: number;
  code: string;
  yaml: string[];
}

const pki = makePki();
const stall = await startUpstream('stall', pki);
stall.mode = 'stall';
// Accepts connections and never answers: the TLS handshake never completes.
const held: Socket[] = [];
const silent = createServer((s) => held.push(s));
await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
const silentUrl = `https://127.0.0.1:${(silent.address() as { port: number }).port}`;
const tls = `      tls: { ca: ${JSON.stringify(pki.caFile)} }`;

const CASES: Case[] = [
  {
    service: 'connect-short',
    what: 'connect (TLS handshake never completes), 502',
    timeoutMs: 300,
    status: 502,
    code: 'PILLION_EGRESS_UNREACHABLE',
    yaml: [
      `      endpoints: [${silentUrl}]`,
      '      timeout: { connect: 300ms, per_try: 5s, total: 5s }',
      '      retry: { max_retries: 0 }',
    ],
  },
  {
    service: 'connect-long',
    what: 'connect (TLS handshake never completes), 502',
    timeoutMs: 1500,
    status: 502,
    code: 'PILLION_EGRESS_UNREACHABLE',
    yaml: [
      `      endpoints: [${silentUrl}]`,
      '      timeout: { connect: 1500ms, per_try: 5s, total: 5s }',
      '      retry: { max_retries: 0 }',
    ],
  },
  {
    service: 'per-try',
    what: 'per_try (no answer, no retry), 504',
    timeoutMs: 500,
    status: 504,
    code: 'PILLION_EGRESS_TIMEOUT',
    yaml: [
      `      endpoints: [${stall.url}]`,
      '      timeout: { connect: 1s, per_try: 500ms, total: 5s }',
      '      retry: { max_retries: 0 }',
    ],
  },
  {
    service: 'total',
    what: 'total (per_try 250ms, retried: attempts at 0, 250, 500 ms, the third cut), 504',
    timeoutMs: 600,
    status: 504,
    code: 'PILLION_EGRESS_TIMEOUT',
    yaml: [
      `      endpoints: [${stall.url}]`,
      '      timeout: { connect: 1s, per_try: 250ms, total: 600ms }',
      // min_retries keeps the budget out of the way: every call may retry.
      '      retry: { max_retries: 5, backoff: 1ms, max_backoff: 1ms, min_retries: 1000 }',
    ],
  },
];

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const round = (x: number): number => Math.round(x * 10) / 10;
let failed = 0;
const { p, egressUrl } = await startEgressPillion(
  pki.dir,
  CASES.flatMap((c) => [`    ${c.service}:`, ...c.yaml, tls]),
);
process.on('exit', () => p.kill());
try {
  console.log(JSON.stringify({ bench: 'egress-timeouts', calls: CALLS, loadavg_before: load() }));
  for (const c of CASES) {
    const pool = new Pool(egressUrl, { connections: 1 });
    const ms: number[] = [];
    const wrong: string[] = [];
    const seen0 = stall.seen.length;
    // One call first, not counted: the egress port's first request warms its code paths.
    for (let i = 0; i < CALLS + 1; i++) {
      const t = performance.now();
      const r = await pool.request({
        method: 'GET',
        path: `/${c.service}/x`,
        signal: AbortSignal.timeout(CALL_LIMIT_MS),
      });
      await r.body.text();
      const took = performance.now() - t;
      if (i === 0) continue;
      ms.push(round(took));
      const code = String(r.headers['x-pillion-error']);
      if (r.statusCode !== c.status || code !== c.code) wrong.push(`${r.statusCode} ${code}`);
    }
    await pool.close();
    const lo = c.timeoutMs * 0.9;
    const hi = c.timeoutMs * 1.1;
    const pass = wrong.length === 0 && ms.every((x) => x >= lo && x <= hi);
    if (!pass) failed++;
    const sorted = [...ms].sort((a, b) => a - b);
    console.log(
      JSON.stringify({
        case: c.service,
        what: c.what,
        timeout_ms: c.timeoutMs,
        ms,
        min_ms: sorted[0],
        median_ms: sorted[Math.floor(sorted.length / 2)],
        max_ms: sorted.at(-1),
        worst_off_pct: round(
          Math.max(...ms.map((x) => Math.abs(x - c.timeoutMs))) / (c.timeoutMs / 100),
        ),
        ...(c.yaml[0]?.includes(stall.url)
          ? { attempts_per_call: (stall.seen.length - seen0) / (CALLS + 1) }
          : {}),
        ...(wrong.length ? { wrong_answers: wrong } : {}),
        within_10_percent: pass ? 'pass' : 'FAIL',
      }),
    );
  }
  console.log(JSON.stringify({ bench: 'egress-timeouts', loadavg_after: load(), failed }));
} finally {
  p.proc.kill('SIGTERM');
  await p.exited;
  await stall.close();
  for (const s of held) s.destroy();
  await new Promise((r) => silent.close(r));
}
process.exitCode = failed === 0 ? 0 : 1;
