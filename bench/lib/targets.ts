// Issue 12's targets, met or not met: Pillion (one worker, access log on) against nginx in the
// same data.
import type { RunMeta, RunRecord } from './record.ts';
import { num, REF, SUBJECT, type Summary, summarize } from './summary.ts';

export interface Target {
  label: string;
  measured: string;
  met: boolean | undefined;
}

export function targets(records: RunRecord[], meta: RunMeta): Target[] {
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
            ? 'not in this data: a whole `npm run bench` (no --cases) runs bench/grpc.ts'
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
