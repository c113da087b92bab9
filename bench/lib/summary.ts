// The figures of one (case, contender) over its runs: which attempt of each run counts,
// medians, min-max, and the number formats the report uses.
import { errorCount } from './load.ts';
import type { RunRecord } from './record.ts';

export const SUBJECT = 'pillion';
export const REF = 'nginx';

export const median = (xs: number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const num = (x: number, digits = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '–';
export const ratio = (a: number, b: number): string =>
  Number.isFinite(a / b) && b > 0 ? (a / b).toFixed(2) : '–';
export const ms = (us: number): string =>
  us >= 10_000 ? (us / 1000).toFixed(1) : (us / 1000).toFixed(2);

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
