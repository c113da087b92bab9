// One measured run as the bench records it (one JSON line each in the raw file). Another
// script (bench/grpc.ts, say) that writes records of this shape can have them merged into the
// report with `--include FILE`.
import { readFileSync } from 'node:fs';
import type { TlsInfo } from './check.ts';
import type { LoadResult } from './load.ts';

export interface RunRecord {
  ts: string;
  case: string;
  /** The case's heading in the report, for a case this runner does not define itself. */
  caseTitle?: string;
  contender: string;
  rep: number;
  attempt: number;
  placement: { load: string; proxy: string; upstream: string };
  seconds: number;
  tls?: TlsInfo;
  /** Set when the run could not be measured (did not start, wrong answer, tool failed). */
  failed?: string;
  load?: LoadResult;
  rps?: number;
  /** µs of CPU (user + system, the contender's whole process tree) per completed request. */
  cpuUsPerReq?: number;
  proxyCpuPct?: number;
  upstreamCpuPct?: number;
  loadCpuPct?: number;
  coreBusyPct?: number[];
  stealPct?: number;
  /** % of a core on the contender's cores that went to other processes. */
  otherPct?: number;
  disturbed?: boolean;
  /** The busiest other processes on the machine during the run ("comm PID N%"). */
  othersBusy?: string[];
  rssIdleMiB?: number;
  rssLoadMiB?: number;
  rssAfterMiB?: number;
  hwmMiB?: number;
  threads?: number;
}

/** Run metadata the report prints: machine, versions, knobs, load average. */
export interface RunMeta {
  date: string;
  machine: string;
  versions: Record<string, string>;
  knobs: Record<string, string | number | boolean>;
  loadavgBefore: string;
  loadavgAfter?: string;
  unavailable: Record<string, string>;
  descriptions: Record<string, string>;
  durationS?: number;
}

/** Reads a raw file: a `{"meta": …}` line and one record per line. */
export function readRecords(file: string): { meta?: RunMeta; records: RunRecord[] } {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const parsed = lines.map((l) => JSON.parse(l) as RunRecord | { meta: RunMeta });
  const meta = parsed.find((p): p is { meta: RunMeta } => 'meta' in p)?.meta;
  return { meta, records: parsed.filter((p): p is RunRecord => !('meta' in p)) };
}
