// Writes bench/RESULTS.md from the run records: machine and versions, one table per case
// (medians over the runs, with spread and ratios to nginx), the issue's targets with met / not
// met, and an overview. Hand-written notes between the notes markers survive a rewrite.
import { existsSync, readFileSync } from 'node:fs';
import type { BenchCase } from './cases.ts';
import { HUNG } from './load.ts';
import type { RunMeta, RunRecord } from './record.ts';
import { ms, num, REF, ratio, summarize } from './summary.ts';
import { targets } from './targets.ts';

const NOTES = /<!-- notes:begin -->[\s\S]*?<!-- notes:end -->/;

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
    ...cases.map((c) =>
      caseTable(
        records,
        { name: c, title: known.get(c) ?? records.find((r) => r.case === c)?.caseTitle ?? c },
        who,
      ),
    ),
    '## Overview: µs of CPU per request (×nginx)',
    '',
    overview(records, cases, who),
    '',
  ];
  return lines.join('\n');
}
