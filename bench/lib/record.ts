// One measured run as the bench records it (one JSON line each in the raw file). Another
// script (bench/grpc.ts, say) that writes records of this shape can have them merged into the
// report with `--include FILE`.
import type { TlsInfo } from './check.ts';
import type { LoadResult } from './load.ts';

export interface RunRecord {
  ts: string;
  case: string;
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
