// `npm run bench`: Pillion's HTTPS proxy beside nginx, HAProxy and a naive Node proxy, on the
// same machine, in the same run, in front of the same upstream, each contender on one worker
// pinned to its own core. Cases, contenders and method: bench/lib/ and the report's header.
// `npm run bench -- --help` lists the options; `--quick` is a smoke run (1 run, 1 s per case)
// that checks every contender starts, answers with the right body sizes, negotiates TLS 1.3
// (and h2 where offered) and that the churn cases really do full handshakes.
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applies, type BenchCase, CASES } from './lib/cases.ts';
import { allContenders, type Contender } from './lib/contenders.ts';
import { errorCount } from './lib/load.ts';
import { type MeasureContext, measure } from './lib/measure.ts';
import { loadAverage, machine, versions } from './lib/meta.ts';
import { type BenchOptions, CONTENDER_ORDER, HELP, parseOptions } from './lib/options.ts';
import { probePillion } from './lib/pillion-build.ts';
import { type RunMeta, type RunRecord, readRecords } from './lib/record.ts';
import { writeReport } from './lib/report.ts';
import { makeScratch, missingTools } from './lib/setup.ts';
import { freePort, installCleanup, pinSelf, stopTree } from './lib/spawn.ts';
import { startUpstream } from './lib/upstream.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let o: BenchOptions;
try {
  o = parseOptions(process.argv.slice(2), ROOT);
} catch (e) {
  console.error(`bench: ${(e as Error).message}\n\n${HELP}`);
  process.exit(2);
}
if (o.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const included = (): RunRecord[] => o.include.flatMap((f) => readRecords(f).records);

if (o.report) {
  const { meta, records } = readRecords(o.report);
  if (!meta) throw new Error(`${o.report}: no meta line`);
  const file = o.out ?? join(ROOT, 'bench', 'RESULTS.md');
  writeFileSync(file, writeReport([...records, ...included()], meta, CASES, CONTENDER_ORDER, file));
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

const build = probePillion(o.pillionRoot);
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
  const missing = missingTools();
  if (missing.length) {
    console.error(
      `bench: ${missing.join(', ')} not found on PATH; run bash scripts/bench-deps.sh (as root) first`,
    );
    return 2;
  }
  pinSelf(o.cpuLoad);
  const scratch = makeScratch();
  installCleanup(() => {
    if (o.keepRuns) console.log(`kept ${scratch.dir}`);
    else rmSync(scratch.dir, { recursive: true, force: true });
  });
  const upPort = await freePort();
  const upstream = await startUpstream(upPort, scratch.www, scratch.dir, o.cpuLoad);
  const t0 = Date.now();
  const meta: RunMeta = {
    date: new Date().toISOString(),
    machine: machine(),
    versions: versions(build.node),
    knobs: {
      reps: o.reps,
      duration: o.durationS,
      warmup: o.warmupS,
      settle: o.settleS,
      retries: o.retries,
      disturbPct: o.disturbPct,
      cpuLoad: o.cpuLoad,
      cpuProxy: o.cpuProxy,
      cpuAll: o.cpuAll,
      peerAccessLog: o.peerAccessLog,
      quick: o.quick,
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
    placement: { load: o.cpuLoad, proxy: o.cpuProxy, all: o.cpuAll },
    warmupS: o.warmupS,
    durationS: o.durationS,
    settleS: o.settleS,
    disturbPct: o.disturbPct,
    peerAccessLog: o.peerAccessLog,
    keepRuns: o.keepRuns,
  };
  const { reps, retries, raw, out, quick } = o;
  const plan =
    cases.flatMap((c) => runnable.filter((w) => applies(c, w)).map(() => c)).length * reps;
  log(
    `${plan} runs, about ${Math.ceil((plan * (o.warmupS + o.durationS + o.settleS + 1.5)) / 60)} min without retries; load average ${meta.loadavgBefore}`,
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
  const grpcRecords = grpcRuns(scratch.dir, raw, quick);
  records.push(...grpcRecords);
  if (grpcRecords.some((r) => r.contender === 'node-h2')) {
    meta.descriptions['node-h2'] =
      "Node 24 http2.createSecureServer answering each gRPC call itself (bench/h2-answer.ts), grpc-unary only: the floor of Node's HTTP/2 server side";
  }
  meta.loadavgAfter = loadAverage();
  meta.durationS = (Date.now() - t0) / 1000;
  if (raw) {
    const rest = readFileSync(raw, 'utf8').split('\n').slice(1).join('\n');
    writeFileSync(raw, `${JSON.stringify({ meta })}\n${rest}`);
  }
  const report = writeReport([...records, ...included()], meta, CASES, CONTENDER_ORDER, out);
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

/**
 * gRPC unary (Pillion `app.protocol: h2c` against nginx `grpc_pass`), measured by its own
 * script (bench/grpc.ts, its own upstream and proxies) after the other cases, in a whole run
 * only (no --cases, not --quick). Its records go into the raw file and the report.
 */
function grpcRuns(scratchDir: string, raw: string | undefined, quick: boolean): RunRecord[] {
  if (quick || o.cases || !runnable.some((c) => c.name === 'pillion')) return [];
  const file = join(scratchDir, 'grpc-results.jsonl');
  log('grpc-unary: bench/grpc.ts');
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'bench', 'grpc.ts'), '--raw', file, '--pillion-root', o.pillionRoot],
    { stdio: 'inherit', timeout: 15 * 60_000 },
  );
  let recs: RunRecord[] = [];
  try {
    recs = readRecords(file).records;
  } catch {
    // no file: the script failed before its first run
  }
  if (r.status !== 0) log(`grpc-unary: bench/grpc.ts exited with ${r.status ?? r.signal}`);
  if (raw) for (const rec of recs) appendFileSync(raw, `${JSON.stringify(rec)}\n`);
  return recs;
}

/** Shows the shim's counter works: nginx resumes when allowed, and does not when forbidden. */
async function resumptionCounts(ctx: MeasureContext, all: Contender[]): Promise<string[]> {
  const nginx = all.find((c) => c.name === 'nginx');
  const churn = CASES.find((c) => c.name === 'churn-ecdsa');
  if (!nginx || !churn) return [];
  // Two connections, so each slot reconnects many times: only a reconnection can resume.
  const slots = 2;
  const allowed = await measure(
    ctx,
    { ...churn, name: 'churn-resume', fullHandshake: false, connections: slots },
    nginx,
    1,
    1,
  );
  const t = allowed.load?.tls;
  log(
    `no-resume shim check: with resumption allowed, nginx resumed ${t?.resumed ?? 0} of ${t?.connections ?? 0} handshakes`,
  );
  if (!t || t.connections <= 2 * slots) {
    log('no-resume shim check: too few reconnections to tell (a busy machine); not counted');
    return [];
  }
  return t.resumed > 0
    ? []
    : ['the no-resume shim saw no resumed handshake even when resumption was allowed'];
}

process.exitCode = await main();
