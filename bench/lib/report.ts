// Writes bench/RESULTS.md from the run records: machine and versions, one table per case
// (medians over the runs, with spread and ratios to nginx), the issue's targets with met / not
// met, and an overview. Hand-written notes between the notes markers survive a rewrite.
import { existsSync, readFileSync } from 'node:fs';
import type { BenchCase } from './cases.ts';
import { errorCount, HUNG } from './load.ts';
import type { RunMeta, RunRecord } from './record.ts';

const SUBJECT = 'pillion';
const REF = 'nginx';
const NOTES = /<!-- notes:begin -->[\s\S]*?<!-- notes:end -->/;

const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const num = (x: number, digits = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
const ratio = (a: number, b: number): string =>
  Number.isFinite(a / b) && b > 0 ? (a / b).toFixed(2) : '–';
const ms = (us: number): string => (us >= 10_000 ? (us / 1000).toFixed(1) : (us / 1000).toFixed(2));

export interface Summary {
  runs: RunRecord[];
  failed: RunRecord[];
  disturbedKept: number;
  repeated: number;
  rps: number;
  rpsMin: number;
  rpsMax: number;
  cpu: number;
  cpuPct: number;
  p50: number;
  p99: number;
  rssLoad: number;
  rssIdle: number;
  rssAfter: number;
  errors: number;
}

/** Per (case, contender): the first undisturbed attempt of each run (else its last attempt). */
export function summarize(
  records: RunRecord[],
  caseName: string,
  who: string,
): Summary | undefined {
  const mine = records.filter((r) => r.case === caseName && r.contender === who);
  if (mine.length === 0) return undefined;
  const byRep = new Map<number, RunRecord[]>();
  for (const r of mine) byRep.set(r.rep, [...(byRep.get(r.rep) ?? []), r]);
  const runs: RunRecord[] = [];
  const failed: RunRecord[] = [];
  let disturbedKept = 0;
  for (const attempts of byRep.values()) {
    attempts.sort((a, b) => a.attempt - b.attempt);
    const ok = attempts.filter((r) => !r.failed);
    const pick = ok.find((r) => !r.disturbed) ?? ok.at(-1);
    if (pick) {
      runs.push(pick);
      if (pick.disturbed) disturbedKept++;
    } else failed.push(attempts[attempts.length - 1]);
  }
  const m = (f: (r: RunRecord) => number | undefined): number =>
    median(runs.map(f).filter((x): x is number => x !== undefined));
  const rps = runs.map((r) => r.rps ?? 0);
  return {
    runs,
    failed,
    disturbedKept,
    repeated: mine.length - byRep.size,
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    cpu: m((r) => r.cpuUsPerReq),
    cpuPct: m((r) => r.proxyCpuPct),
    p50: m((r) => r.load?.p50Us),
    p99: m((r) => r.load?.p99Us),
    rssLoad: m((r) => r.rssLoadMiB),
    rssIdle: m((r) => r.rssIdleMiB),
    rssAfter: m((r) => r.rssAfterMiB),
    errors: runs.reduce((a, r) => a + (r.load ? errorCount(r.load) : 0), 0),
  };
}

function caseTable(
  records: RunRecord[],
  c: { name: string; title: string },
  order: string[],
): string {
  const rows: string[] = [];
  const ref = summarize(records, c.name, REF);
  const notes: string[] = [];
  const tls = new Set<string>();
  let maxSpread = 0;
  let maxSteal = 0;
  let disturbed = 0;
  let repeated = 0;
  const resumed: string[] = [];
  const hung: string[] = [];
  for (const who of order) {
    const s = summarize(records, c.name, who);
    if (!s) continue;
    const attempts = records.filter((r) => r.case === c.name && r.contender === who);
    const h = attempts.filter((r) => r.failed?.startsWith(HUNG)).length;
    if (h) hung.push(`${who} ${h} of ${attempts.length} attempts`);
    for (const f of s.failed) notes.push(`${who} rep ${f.rep} failed: ${f.failed}`);
    if (s.runs.length === 0) {
      rows.push(`| ${who} | failed | | | | | | | | | | | | | ${s.failed.length} |`);
      continue;
    }
    const spread = (s.rpsMax - s.rpsMin) / s.rps;
    maxSpread = Math.max(maxSpread, spread);
    disturbed += s.disturbedKept;
    repeated += s.repeated;
    for (const r of s.runs) {
      maxSteal = Math.max(maxSteal, r.stealPct ?? 0);
      if (r.tls) tls.add(`${r.tls.protocol} ${r.tls.cipher} ${r.tls.group}, ${r.tls.cert} cert`);
    }
    const conns = s.runs.reduce((a, r) => a + (r.load?.tls?.connections ?? 0), 0);
    const res = s.runs.reduce((a, r) => a + (r.load?.tls?.resumed ?? 0), 0);
    if (c.name.startsWith('churn')) resumed.push(`${who} ${res} of ${num(conns)}`);
    rows.push(
      `| ${who} | ${num(s.rps)} | ${num(s.rpsMin)}–${num(s.rpsMax)} (${(100 * spread).toFixed(0)}%) | ${ref ? ratio(s.rps, ref.rps) : '–'} | ${ms(s.p50)} | ${ms(s.p99)} | ${ref ? ratio(s.p99, ref.p99) : '–'} | ${num(s.cpuPct)} | ${num(s.cpu, 1)} | ${ref ? ratio(s.cpu, ref.cpu) : '–'} | ${num(s.rssLoad, 1)} | ${num(s.rssIdle, 1)} | ${num(s.rssAfter, 1)} | ${s.errors} | ${s.runs.length}${s.disturbedKept ? ` (${s.disturbedKept} disturbed)` : ''}${s.failed.length ? `, ${s.failed.length} failed` : ''} |`,
    );
  }
  if (rows.length === 0) return '';
  const out = [
    `### ${c.name}: ${c.title}`,
    '',
    '| contender | req/s | min–max (spread) | ×nginx | p50 ms | p99 ms | p99 ×nginx | CPU % | µs CPU/req | CPU/req ×nginx | RSS load MiB | RSS idle MiB | RSS after MiB | errors | runs |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    ...rows,
    '',
  ];
  if (tls.size) out.push(`Negotiated: ${[...tls].join('; ')}.`, '');
  if (resumed.length) {
    out.push(
      `TLS connections resumed (counted in wrk by the no-resume shim): ${resumed.join(', ')}.`,
      '',
    );
  }
  if (hung.length) {
    out.push(
      `The load tool did not exit after its duration and was killed (the contender kept its connections open; such an attempt is repeated): ${hung.join(', ')}.`,
      '',
    );
  }
  out.push(
    `Noise: largest run-to-run spread ${(100 * maxSpread).toFixed(0)}% of the median; steal up to ${maxSteal.toFixed(1)}%; ${repeated} attempt(s) repeated${disturbed ? `; ${disturbed} run(s) kept were still disturbed (no clean attempt within the retries)` : ''}.`,
    '',
  );
  for (const n of notes) out.push(`- ${n}`);
  if (notes.length) out.push('');
  return out.join('\n');
}

interface Target {
  label: string;
  measured: string;
  met: boolean | undefined;
}

function targets(records: RunRecord[], meta: RunMeta): Target[] {
  const get = (c: string, who = SUBJECT): Summary | undefined => {
    const s = summarize(records, c, who);
    return s && s.runs.length > 0 ? s : undefined;
  };
  const out: Target[] = [];
  const cpuTarget = (label: string, c: string, max: number): void => {
    const p = get(c);
    const n = get(c, REF);
    if (!p || !n) {
      out.push({
        label,
        measured:
          c === 'grpc-unary'
            ? 'not in this data: bench/grpc.ts measures it (merge its records with --include)'
            : 'not measured in this run',
        met: undefined,
      });
      return;
    }
    const r = p.cpu / n.cpu;
    out.push({
      label,
      measured: `${r.toFixed(2)}× (${num(p.cpu, 1)} vs ${num(n.cpu, 1)} µs)`,
      met: r <= max,
    });
  };
  cpuTarget('12 B keep-alive: CPU/req ≤ 1.5× nginx', 'h1-small', 1.5);
  cpuTarget('16 KiB: CPU/req ≤ 1.2× nginx', 'h1-16k', 1.2);
  cpuTarget('1 MiB: CPU/req ≤ 1.2× nginx', 'h1-1m', 1.2);
  for (const c of ['churn-ecdsa', 'churn-rsa']) {
    const label = `full-handshake churn (${c.slice(6).toUpperCase()}): req/s ≥ 0.9× nginx`;
    const p = get(c);
    const n = get(c, REF);
    if (!p || !n) out.push({ label, measured: 'not measured in this run', met: undefined });
    else {
      const r = p.rps / n.rps;
      out.push({
        label,
        measured: `${r.toFixed(2)}× (${num(p.rps)} vs ${num(n.rps)} req/s)`,
        met: r >= 0.9,
      });
    }
  }
  cpuTarget('HTTP/2 small: CPU/req ≤ 2.5× nginx', 'h2-small', 2.5);
  cpuTarget('gRPC unary: CPU/req ≤ 2× nginx grpc_pass', 'grpc-unary', 2);
  const cases = [...new Set(records.map((r) => r.case))];
  let worst: { c: string; r: number } | undefined;
  let rssLoad: { c: string; v: number } | undefined;
  let rssIdle: { c: string; v: number } | undefined;
  for (const c of cases) {
    const p = get(c);
    const n = get(c, REF);
    if (!p) continue;
    if (n && (!worst || p.p99 / n.p99 > worst.r)) worst = { c, r: p.p99 / n.p99 };
    if (!rssLoad || p.rssLoad > rssLoad.v) rssLoad = { c, v: p.rssLoad };
    if (!rssIdle || p.rssIdle > rssIdle.v) rssIdle = { c, v: p.rssIdle };
  }
  out.push({
    label: 'p99 ≤ 1.5× nginx in every case',
    measured: worst ? `worst ${worst.r.toFixed(2)}× (${worst.c})` : 'not measured',
    met: worst ? worst.r <= 1.5 : undefined,
  });
  out.push({
    label: 'RSS under load ≤ 80 MiB',
    measured: rssLoad ? `max ${num(rssLoad.v, 1)} MiB (${rssLoad.c})` : 'not measured',
    met: rssLoad ? rssLoad.v <= 80 : undefined,
  });
  out.push({
    label: 'RSS idle ≤ 50 MiB',
    measured: rssIdle ? `max ${num(rssIdle.v, 1)} MiB (${rssIdle.c}, after start)` : 'not measured',
    met: rssIdle ? rssIdle.v <= 50 : undefined,
  });
  const w2 = get('h1-small', 'pillion-w2');
  const w1 = get('h1-small');
  const label = '`workers: 2`: req/s ≥ 1.6× one worker (h1-small), or CPU/req flat';
  if (meta.unavailable['pillion-w2'])
    out.push({ label, measured: meta.unavailable['pillion-w2'], met: undefined });
  else if (!w2 || !w1) out.push({ label, measured: 'not measured in this run', met: undefined });
  else {
    out.push({
      label,
      measured: `${(w2.rps / w1.rps).toFixed(2)}× req/s; CPU/req ${(w2.cpu / w1.cpu).toFixed(2)}× one worker's`,
      met: w2.rps / w1.rps >= 1.6,
    });
  }
  return out;
}

/** Per contender: what every run checked before it measured, and what the load saw. */
export function checks(records: RunRecord[], order: string[]): string {
  const rows = order.flatMap((who) => {
    const mine = records.filter((r) => r.contender === who);
    if (mine.length === 0) return [];
    const tlsOf = (kind: string): string =>
      [
        ...new Set(
          mine
            .filter((r) => r.tls?.cert.startsWith(kind))
            .map((r) => `${r.tls?.protocol} ${r.tls?.cipher} ${r.tls?.group}`),
        ),
      ].join(', ') || '–';
    const alpn = [...new Set(mine.map((r) => r.tls?.alpn).filter(Boolean))].join(', ') || '–';
    const h2 = [
      ...new Set(mine.filter((r) => r.case.startsWith('h2')).map((r) => r.load?.alpn ?? '?')),
    ];
    const churn = mine.filter((r) => r.case.startsWith('churn') && r.load?.tls);
    const conns = churn.reduce((a, r) => a + (r.load?.tls?.connections ?? 0), 0);
    const resumed = churn.reduce((a, r) => a + (r.load?.tls?.resumed ?? 0), 0);
    const ok = mine.filter((r) => !r.failed).length;
    return [
      `| ${who} | ${ok} of ${mine.length} | ${tlsOf('EC')} | ${tlsOf('RSA')} | ${alpn} | ${h2.join(', ') || '–'} | ${churn.length ? `${resumed} of ${num(conns)}` : '–'} |`,
    ];
  });
  return [
    '| contender | runs that answered right (status 200, body size) | TLS, ECDSA cert | TLS, RSA cert | ALPN chosen (h2 and http/1.1 offered) | h2load ALPN | handshakes resumed in the churn cases |',
    '|---|--:|---|---|---|---|--:|',
    ...rows,
  ].join('\n');
}

function overview(records: RunRecord[], cases: string[], order: string[]): string {
  const head = `| contender | ${cases.map((c) => `${c} µs/req (×nginx)`).join(' | ')} |`;
  const rows = order.flatMap((who) => {
    const cells = cases.map((c) => {
      const s = summarize(records, c, who);
      const n = summarize(records, c, REF);
      if (!s || s.runs.length === 0) return '–';
      return `${num(s.cpu, 1)} (${n ? ratio(s.cpu, n.cpu) : '–'})`;
    });
    return cells.every((x) => x === '–') ? [] : [`| ${who} | ${cells.join(' | ')} |`];
  });
  return [head, `|---|${cases.map(() => '--:|').join('')}`, ...rows].join('\n');
}

export function writeReport(
  records: RunRecord[],
  meta: RunMeta,
  caseDefs: BenchCase[],
  order: string[],
  previous?: string,
): string {
  const known = new Map(caseDefs.map((c) => [c.name, c.title]));
  const cases = [...new Set(records.map((r) => r.case))];
  const seen = [...new Set(records.map((r) => r.contender))];
  const who = [...order.filter((o) => seen.includes(o)), ...seen.filter((s) => !order.includes(s))];
  const notes =
    previous && existsSync(previous) ? NOTES.exec(readFileSync(previous, 'utf8'))?.[0] : undefined;
  const k = meta.knobs;
  const lines = [
    '# `npm run bench`: Pillion beside nginx, HAProxy and a naive Node proxy',
    '',
    `Generated by \`bench/proxy.ts\` on ${meta.date}${meta.durationS ? ` (the run took ${Math.round(meta.durationS / 60)} min)` : ''}.`,
    '',
    '## Machine, versions, method',
    '',
    `- Machine: ${meta.machine}. Load average (1/5/15 min) before: ${meta.loadavgBefore}; after: ${meta.loadavgAfter ?? '?'}.`,
    `- Versions: ${Object.entries(meta.versions)
      .map(([a, b]) => `${a} ${b}`)
      .join('; ')}.`,
    `- Placement (taskset): harness, load generator (1 thread) and upstream (nginx, 1 worker) on core ${k.cpuLoad}; each one-worker contender alone on core ${k.cpuProxy}; a multi-worker contender on cores ${k.cpuAll}.`,
    `- Per run: a fresh contender process, a TLS and answer check, ${k.warmup} s warm-up (not counted), ${k.duration} s measured; ${k.reps} run(s) per case and contender, interleaved (A B C, A B C). A run where more than ${k.disturbPct}% of the contender's core(s) went to other processes is repeated up to ${k.retries} time(s). Peer access logs: ${k.peerAccessLog ? 'on (nginx to a file, HAProxy httplog to stdout, node-naive a line to stdout)' : 'off'}; Pillion's JSON access lines go to stdout, redirected to a file.`,
    "- Columns: **req/s** median with min–max and spread (max−min)/median; **p50/p99** medians of the runs (wrk: request write to response, no connect or handshake time, closed loop; h2load: per request from its log); **CPU %** of one core used by the contender's whole process tree; **µs CPU/req** its utime+stime (from `/proc/PID/stat` of every process in the tree) per completed request, which does not depend on where the bottleneck is; **RSS load** VmRSS of the tree 0.5 s before the end of the load; **RSS idle** after start and one request; **RSS after** after the load, idle again.",
    '',
    '## Contenders',
    '',
    '| contender | what it is |',
    '|---|---|',
    ...Object.entries(meta.descriptions).map(
      ([n, d]) => `| ${n} | ${meta.unavailable[n] ? `**${meta.unavailable[n]}**. ` : ''}${d} |`,
    ),
    '',
    '## Checks',
    '',
    checks(records, who),
    '',
    '## Targets (issue 12; Pillion, one worker, access log on, against nginx in the same run)',
    '',
    '| target | measured | met |',
    '|---|---|---|',
    ...targets(records, meta).map(
      (t) =>
        `| ${t.label} | ${t.measured} | ${t.met === undefined ? '–' : t.met ? 'met' : 'not met'} |`,
    ),
    '',
    notes ?? '<!-- notes:begin -->\n<!-- notes:end -->',
    '',
    '## Results per case',
    '',
    ...cases.map((c) => caseTable(records, { name: c, title: known.get(c) ?? c }, who)),
    '## Overview: µs of CPU per request (×nginx)',
    '',
    overview(records, cases, who),
    '',
  ];
  return lines.join('\n');
}
