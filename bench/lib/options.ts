// `npm run bench -- [options]`: parsed and checked once, with the smoke-run defaults of --quick.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CASES } from './cases.ts';

export const CONTENDER_ORDER = [
  'nginx',
  'haproxy',
  'node-naive',
  'pillion',
  'pillion-nometrics',
  'pillion-nolog',
  'pillion-w2',
];

export const HELP = `Usage: npm run bench -- [options]

  --quick                 smoke run: 1 run per case, 1 s, no warm-up or retries; checks and exits
                          1 on any problem; writes no RESULTS.md unless --out is given
  --cases LIST            comma-separated, from: ${CASES.map((c) => c.name).join(', ')}
  --contenders LIST       from: ${CONTENDER_ORDER.join(', ')}
  --reps N                runs per case and contender, interleaved (default 3)
  --duration S            measured whole seconds per run (default 4)
  --warmup S              warm-up seconds per run, not counted (default 1)
  --settle S              idle wait after the load before RSS is read again (default 0.5)
  --retries N             repeats of a disturbed or hung run (default 2)
  --disturb-pct P         a run is disturbed when others used more than P% of its core (default 10)
  --cpu-load LIST         cores of the harness, load generator and upstream (default 0)
  --cpu-proxy LIST        core of a one-worker contender (default 1)
  --cpu-all LIST          cores of a multi-worker contender (default: every core)
  --peer-access-log on|off  access logs of nginx, HAProxy and node-naive (default on)
  --pillion-root DIR      the Pillion checkout to drive (default: this one)
  --out FILE              the report (default bench/RESULTS.md; none with --quick)
  --raw FILE              the run records, one JSON line each (default bench/results.jsonl)
  --include FILE          merge records of another script (e.g. gRPC) into the report; repeatable
  --report FILE           only rewrite the report from a raw file (and --include files)
  --keep-runs             keep the scratch directory (each run's config and logs) and print it
  -h, --help              this text
`;

export interface BenchOptions {
  help: boolean;
  quick: boolean;
  cases?: string;
  contenders?: string;
  reps: number;
  durationS: number;
  warmupS: number;
  settleS: number;
  retries: number;
  disturbPct: number;
  cpuLoad: string;
  cpuProxy: string;
  cpuAll: string;
  peerAccessLog: boolean;
  pillionRoot: string;
  out?: string;
  raw?: string;
  include: string[];
  report?: string;
  keepRuns: boolean;
}

/** Throws a message naming the option when a value is not what it should be. */
export function parseOptions(argv: string[], root: string): BenchOptions {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      cases: { type: 'string' },
      contenders: { type: 'string' },
      reps: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      settle: { type: 'string' },
      retries: { type: 'string' },
      'disturb-pct': { type: 'string', default: '10' },
      'cpu-load': { type: 'string', default: '0' },
      'cpu-proxy': { type: 'string', default: '1' },
      'cpu-all': { type: 'string', default: `0-${cpus().length - 1}` },
      'peer-access-log': { type: 'string', default: 'on' },
      'pillion-root': { type: 'string', default: root },
      out: { type: 'string' },
      raw: { type: 'string' },
      include: { type: 'string', multiple: true, default: [] },
      report: { type: 'string' },
      'keep-runs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const quick = o.quick;
  const number = (name: string, v: string | undefined, full: number, smoke: number): number => {
    const n = v === undefined ? (quick ? smoke : full) : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number ≥ 0, got ${v}`);
    return n;
  };
  const cores = (name: string, v: string): string => {
    if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v)) {
      throw new Error(`--${name}: expected a core list such as 1, 0,1 or 0-1, got ${v}`);
    }
    return v;
  };
  if (o['peer-access-log'] !== 'on' && o['peer-access-log'] !== 'off') {
    throw new Error(`--peer-access-log: expected on or off, got ${o['peer-access-log']}`);
  }
  const durationS = number('duration', o.duration, 4, 1);
  if (!Number.isInteger(durationS) || durationS < 1) {
    throw new Error(`--duration: wrk takes whole seconds ≥ 1, got ${o.duration}`);
  }
  return {
    help: o.help,
    quick,
    cases: o.cases,
    contenders: o.contenders,
    reps: Math.max(1, Math.round(number('reps', o.reps, 3, 1))),
    durationS,
    warmupS: Math.round(number('warmup', o.warmup, 1, 0)),
    settleS: number('settle', o.settle, 0.5, 0),
    retries: Math.round(number('retries', o.retries, 2, 0)),
    disturbPct: number('disturb-pct', o['disturb-pct'], 10, 10),
    cpuLoad: cores('cpu-load', o['cpu-load']),
    cpuProxy: cores('cpu-proxy', o['cpu-proxy']),
    cpuAll: cores('cpu-all', o['cpu-all']),
    peerAccessLog: o['peer-access-log'] === 'on',
    pillionRoot: o['pillion-root'],
    out: o.out ?? (quick ? undefined : join(root, 'bench', 'RESULTS.md')),
    raw: o.raw ?? (quick ? undefined : join(root, 'bench', 'results.jsonl')),
    include: o.include,
    report: o.report,
    keepRuns: o['keep-runs'],
  };
}
