// `npm run bench`: Pillion's HTTPS proxy beside nginx, HAProxy and a naive Node proxy, on the
// same machine, in the same run, in front of the same upstream, each contender on one worker
// pinned to its own core. Cases, contenders and method: bench/lib/ and the report's header.
// `npm run bench -- --help` lists the options; `--quick` is a smoke run (1 run, 1 s per case)
// that checks every contender starts, answers with the right body sizes, negotiates TLS 1.3
// (and h2 where offered) and that the churn cases really do full handshakes.
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { applies, type BenchCase, CASES } from './lib/cases.ts';
import { allContenders, type Contender } from './lib/contenders.ts';
import { errorCount } from './lib/load.ts';
import { type MeasureContext, measure } from './lib/measure.ts';
import { loadAverage, machine, versions } from './lib/meta.ts';
import { probePillion } from './lib/pillion-build.ts';
import type { RunMeta, RunRecord } from './lib/record.ts';
import { writeReport } from './lib/report.ts';
import { makeScratch } from './lib/setup.ts';
import { freePort, installCleanup, pinSelf, stopTree } from './lib/spawn.ts';
import { startUpstream } from './lib/upstream.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const HELP = `Usage: npm run bench -- [options]

  --quick                 smoke run: 1 run per case, 1 s, no warm-up or retries; checks and exits
                          1 on any problem; writes no RESULTS.md unless --out is given
  --cases LIST            comma-separated, from: ${CASES.map((c) => c.name).join(', ')}
  --contenders LIST       from: nginx, haproxy, node-naive, pillion, pillion-nolog, pillion-w2
  --reps N                runs per case and contender, interleaved (default 3)
  --duration S            measured seconds per run (default 4)
  --warmup S              warm-up seconds per run, not counted (default 1)
  --settle S              idle wait after the load before RSS is read again (default 0.5)
  --retries N             repeats of a disturbed run (default 2)
  --disturb-pct P         a run is disturbed when others used more than P% of its core (default 10)
  --cpu-load LIST         cores of the harness, load generator and upstream (default 0)
  --cpu-proxy LIST        core of a one-worker contender (default 1)
  --cpu-all LIST          cores of a multi-worker contender (default: every core)
  --peer-access-log on|off  access logs of nginx, HAProxy and node-naive (default on)
  --pillion-root DIR      the Pillion checkout to drive (default: this one)
  --out FILE              the report (default bench/RESULTS.md; none with --quick)
  --raw FILE              the run records, one JSON line each (default bench/results.jsonl)
  --include FILE          merge records of another script (e.g. gRPC) into the report; repeatable
  --report FILE           only rewrite the report from a raw file
  --keep-runs             keep the scratch directory (each run's config and logs) and print it
  -h, --help              this text
`;

const { values: o } = parseArgs({
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
    'pillion-root': { type: 'string', default: ROOT },
    out: { type: 'string' },
    raw: { type: 'string' },
    include: { type: 'string', multiple: true, default: [] },
    report: { type: 'string' },
    'keep-runs': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (o.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const quick = o.quick;
const pick = (v: string | undefined, full: number, smoke: number): number =>
  v === undefined ? (quick ? smoke : full) : Number(v);
const reps = pick(o.reps, 3, 1);
const durationS = pick(o.duration, 4, 1);
const warmupS = pick(o.warmup, 1, 0);
const settleS = pick(o.settle, 0.5, 0);
const retries = pick(o.retries, 2, 0);
const out = o.out ?? (quick ? undefined : join(ROOT, 'bench', 'RESULTS.md'));
const raw = o.raw ?? (quick ? undefined : join(ROOT, 'bench', 'results.jsonl'));
const ORDER = ['nginx', 'haproxy', 'node-naive', 'pillion', 'pillion-nolog', 'pillion-w2'];

function readRaw(file: string): { meta?: RunMeta; records: RunRecord[] } {
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const parsed = lines.map((l) => JSON.parse(l) as RunRecord | { meta: RunMeta });
  const meta = parsed.find((p): p is { meta: RunMeta } => 'meta' in p)?.meta;
  return { meta, records: parsed.filter((p): p is RunRecord => !('meta' in p)) };
}

function included(): RunRecord[] {
  return (o.include ?? []).flatMap((f) => readRaw(f).records);
}

if (o.report) {
  const { meta, records } = readRaw(o.report);
  if (!meta) throw new Error(`${o.report}: no meta line`);
  const file = out ?? join(ROOT, 'bench', 'RESULTS.md');
  writeFileSync(file, writeReport([...records, ...included()], meta, CASES, ORDER, file));
  console.log(`wrote ${file}`);
  process.exit(0);
}

function choose<T extends { name: string }>(all: T[], list: string | undefined, what: string): T[] {
  if (!list) return all;
  const names = list.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !all.some((a) => a.name === n));
  if (bad.length)
    throw new Error(
      `unknown ${what}: ${bad.join(', ')}; known: ${all.map((a) => a.name).join(', ')}`,
    );
  return all.filter((a) => names.includes(a.name));
}

const build = probePillion(o['pillion-root']);
const contenders = choose(allContenders(build), o.contenders, 'contender');
const cases = choose(CASES, o.cases, 'case');
const runnable = contenders.filter((c) => !c.unavailable);
for (const c of contenders) if (c.unavailable) console.log(`${c.name}: ${c.unavailable}`);

const stamp = (): string => new Date().toISOString().slice(11, 19);
const log = (s: string): void => console.log(`[${stamp()}] ${s}`);

/** What makes a run's figures untrustworthy, beyond noise. */
function problems(r: RunRecord, c: BenchCase): string[] {
  if (r.failed) return [r.failed];
  const p: string[] = [];
  if (r.tls && r.tls.protocol !== 'TLSv1.3') p.push(`negotiated ${r.tls.protocol}, not TLSv1.3`);
  if (c.tool === 'h2load' && r.load?.alpn !== 'h2') p.push(`h2load got ALPN ${r.load?.alpn}`);
  if (c.fullHandshake) {
    const t = r.load?.tls;
    if (!t || t.connections === 0) p.push('the no-resume shim counted no TLS connections');
    else if (t.resumed > 0) p.push(`${t.resumed} of ${t.connections} handshakes resumed`);
  }
  if (r.load && errorCount(r.load) > 0) p.push(`${errorCount(r.load)} errors`);
  return p;
}

function line(r: RunRecord): string {
  if (r.failed) return `FAILED ${r.failed}`;
  const f = (x: number | undefined, d = 0): string => (x ?? 0).toFixed(d);
  return `${f(r.rps)} req/s, ${f(r.cpuUsPerReq, 1)} µs CPU/req, CPU ${f(r.proxyCpuPct)}%, p99 ${f((r.load?.p99Us ?? 0) / 1000, 2)} ms, RSS ${f(r.rssLoadMiB)} MiB (idle ${f(r.rssIdleMiB)}), other ${f(r.otherPct)}%${r.disturbed ? ` DISTURBED (busiest others: ${r.othersBusy?.join(', ') || 'none'})` : ''}`;
}

async function main(): Promise<number> {
  pinSelf(o['cpu-load']);
  const scratch = makeScratch();
  installCleanup(() => {
    if (o['keep-runs']) console.log(`kept ${scratch.dir}`);
    else rmSync(scratch.dir, { recursive: true, force: true });
  });
  const upPort = await freePort();
  const upstream = await startUpstream(upPort, scratch.www, scratch.dir, o['cpu-load']);
  const t0 = Date.now();
  const meta: RunMeta = {
    date: new Date().toISOString(),
    machine: machine(),
    versions: versions(build.node),
    knobs: {
      reps,
      duration: durationS,
      warmup: warmupS,
      settle: settleS,
      retries,
      disturbPct: Number(o['disturb-pct']),
      cpuLoad: o['cpu-load'],
      cpuProxy: o['cpu-proxy'],
      cpuAll: o['cpu-all'],
      peerAccessLog: o['peer-access-log'] !== 'off',
      quick,
    },
    loadavgBefore: loadAverage(),
    unavailable: Object.fromEntries(
      contenders.filter((c) => c.unavailable).map((c) => [c.name, c.unavailable ?? '']),
    ),
    descriptions: Object.fromEntries(contenders.map((c) => [c.name, c.desc])),
  };
  const ctx: MeasureContext = {
    scratch,
    upstream: { port: upPort, pid: upstream.pid ?? 0 },
    placement: { load: o['cpu-load'], proxy: o['cpu-proxy'], all: o['cpu-all'] },
    warmupS,
    durationS,
    settleS,
    disturbPct: Number(o['disturb-pct']),
    peerAccessLog: o['peer-access-log'] !== 'off',
    keepRuns: o['keep-runs'],
  };
  const plan =
    cases.flatMap((c) => runnable.filter((w) => applies(c, w)).map(() => c)).length * reps;
  log(
    `${plan} runs, about ${Math.ceil((plan * (warmupS + durationS + settleS + 1.5)) / 60)} min without retries; load average ${meta.loadavgBefore}`,
  );

  if (raw) {
    mkdirSync(dirname(raw), { recursive: true });
    writeFileSync(raw, `${JSON.stringify({ meta })}\n`);
  }
  const records: RunRecord[] = [];
  const trouble: string[] = [];
  if (quick && runnable.some((c) => c.name === 'nginx') && cases.some((c) => c.fullHandshake)) {
    trouble.push(...(await resumptionCounts(ctx, contenders)));
  }
  for (const c of cases) {
    for (let rep = 1; rep <= reps; rep++) {
      for (const who of runnable) {
        if (!applies(c, who)) continue;
        for (let attempt = 1; attempt <= retries + 1; attempt++) {
          const r = await measure(ctx, c, who, rep, attempt);
          records.push(r);
          if (raw) appendFileSync(raw, `${JSON.stringify(r)}\n`);
          log(`${c.name} rep ${rep} ${who.name}: ${line(r)}`);
          // A disturbed run, one that did not start (a port taken meanwhile by someone else on
          // a shared machine) and one whose load tool hung get another attempt; a wrong answer
          // does not.
          const again = r.failed ? /^(start|hung):/.test(r.failed) : r.disturbed;
          if (!again || attempt > retries) {
            for (const p of problems(r, c)) trouble.push(`${c.name} ${who.name} rep ${rep}: ${p}`);
            break;
          }
        }
      }
    }
  }
  await stopTree(upstream);
  meta.loadavgAfter = loadAverage();
  meta.durationS = (Date.now() - t0) / 1000;
  if (raw) {
    const rest = readFileSync(raw, 'utf8').split('\n').slice(1).join('\n');
    writeFileSync(raw, `${JSON.stringify({ meta })}\n${rest}`);
  }
  const report = writeReport([...records, ...included()], meta, CASES, ORDER, out);
  if (out) {
    writeFileSync(out, report);
    log(`wrote ${out}${raw ? ` and ${raw}` : ''}`);
  } else {
    const at = report.indexOf('## Checks');
    console.log(report.slice(at, report.indexOf('## Results per case')));
  }
  log(`load average after: ${meta.loadavgAfter}`);
  for (const t of trouble) console.error(`problem: ${t}`);
  return quick && trouble.length > 0 ? 1 : 0;
}

/** Shows the shim's counter works: nginx resumes when allowed, and does not when forbidden. */
async function resumptionCounts(ctx: MeasureContext, all: Contender[]): Promise<string[]> {
  const nginx = all.find((c) => c.name === 'nginx');
  const churn = CASES.find((c) => c.name === 'churn-ecdsa');
  if (!nginx || !churn) return [];
  const allowed = await measure(
    ctx,
    { ...churn, name: 'churn-resume', fullHandshake: false },
    nginx,
    1,
    1,
  );
  const t = allowed.load?.tls;
  log(
    `no-resume shim check: with resumption allowed, nginx resumed ${t?.resumed ?? 0} of ${t?.connections ?? 0} handshakes`,
  );
  return t && t.resumed > 0
    ? []
    : ['the no-resume shim saw no resumed handshake even when resumption was allowed'];
}

process.exitCode = await main();
