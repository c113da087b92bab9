// One measured run: a fresh contender process pinned to its core(s), a check of its TLS and
// answer, its idle RSS, a warm-up load (not counted), then the measured load with the CPU time
// of the contender's whole process tree read from /proc before and after, its RSS sampled 0.5 s
// before the end (connections still open), and the busy time of its core(s), so a run that
// something else disturbed (more than `disturbPct` of a core went to others) can be repeated.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchCase } from './cases.ts';
import { type TlsInfo, tlsProbe, verify } from './check.ts';
import type { Contender } from './contenders.ts';
import { GUARD_S, h2load, type LoadResult, wrk } from './load.ts';
import {
  allTicks,
  busiestOthers,
  CLK_TCK,
  coreBusy,
  coreTimes,
  parseCores,
  reapedChildTicks,
  treePids,
  treeStatus,
  treeTicks,
} from './proc.ts';
import type { RunRecord } from './record.ts';
import type { Scratch } from './setup.ts';
import { freePort, startPinned, stopTree, waitPort } from './spawn.ts';

export interface Placement {
  /** The harness, load generator and upstream. */
  load: string;
  /** A one-worker contender, alone. */
  proxy: string;
  /** A multi-worker contender. */
  all: string;
}

export interface MeasureContext {
  scratch: Scratch;
  upstream: { port: number; pid: number };
  placement: Placement;
  warmupS: number;
  durationS: number;
  /** Idle wait after the load before RSS is read again. */
  settleS: number;
  disturbPct: number;
  peerAccessLog: boolean;
  /** Keep each run's directory (configs, logs) for inspection. */
  keepRuns: boolean;
}

function runLoad(
  ctx: MeasureContext,
  c: BenchCase,
  port: number,
  seconds: number,
  runDir: string,
  guardS: number,
): Promise<LoadResult> {
  const url = `https://127.0.0.1:${port}${c.path}`;
  if (c.tool === 'h2load') {
    return h2load({
      url,
      connections: c.connections,
      streams: c.streams ?? 10,
      seconds,
      logFile: join(runDir, 'h2load.log'),
      guardS,
    });
  }
  return wrk({
    url,
    connections: c.connections,
    seconds,
    close: c.close,
    fullHandshake: c.fullHandshake,
    postBytes: c.postBytes,
    noresume: ctx.scratch.noresume,
    script: ctx.scratch.wrkScript,
    guardS,
  });
}

const MiB = 1024;

export async function measure(
  ctx: MeasureContext,
  c: BenchCase,
  who: Contender,
  rep: number,
  attempt: number,
): Promise<RunRecord> {
  const runDir = join(ctx.scratch.dir, 'run', `${c.name}-${who.name}-${rep}-${attempt}`);
  mkdirSync(runDir, { recursive: true });
  const cores = who.placement === 'all' ? ctx.placement.all : ctx.placement.proxy;
  const port = await freePort();
  const { cert, key } = ctx.scratch.certs[c.cert];
  const launch = who.launch({
    listen: port,
    upstream: ctx.upstream.port,
    cert,
    key,
    runDir,
    peerAccessLog: ctx.peerAccessLog,
  });
  const base = {
    ts: new Date().toISOString(),
    case: c.name,
    contender: who.name,
    rep,
    attempt,
    placement: { load: ctx.placement.load, proxy: cores, upstream: ctx.placement.load },
    seconds: ctx.durationS,
  };
  const child = startPinned(cores, launch.cmd, launch.args, {
    env: launch.env,
    cwd: runDir,
    log: join(runDir, 'output.log'),
  });
  try {
    const pid = child.pid ?? 0;
    let tls: TlsInfo;
    try {
      await waitPort(port, 20_000, child);
      tls = await tlsProbe(port);
      const wrong = await verify(port, c);
      if (wrong) return { ...base, failed: wrong, tls };
    } catch (e) {
      return { ...base, failed: `start: ${(e as Error).message}; ${logTail(runDir)}` };
    }
    await sleep(200);
    const rssIdleKiB = treeStatus(pid, 'VmRSS');
    if (ctx.warmupS > 0) await runLoad(ctx, c, port, ctx.warmupS, runDir, GUARD_S.warmup);

    const all0 = allTicks();
    const px0 = treeTicks(pid);
    const up0 = treeTicks(ctx.upstream.pid);
    const cs0 = coreTimes();
    const self0 = process.cpuUsage();
    const reaped0 = reapedChildTicks();
    const t0 = performance.now();
    let rssLoadKiB = 0;
    let threads = 0;
    const sampler = setTimeout(
      () => {
        rssLoadKiB = treeStatus(pid, 'VmRSS');
        threads = treeStatus(pid, 'Threads');
      },
      Math.max(ctx.durationS - 0.5, ctx.durationS / 2) * 1000,
    );
    const load = await runLoad(ctx, c, port, ctx.durationS, runDir, GUARD_S.measured);
    clearTimeout(sampler);
    const wallS = (performance.now() - t0) / 1000;
    const cs1 = coreTimes();
    const all1 = allTicks();
    const mine = new Set([...treePids(pid), ...treePids(ctx.upstream.pid), process.pid]);
    const pxS = (treeTicks(pid) - px0) / CLK_TCK;
    const upS = (treeTicks(ctx.upstream.pid) - up0) / CLK_TCK;
    const self = process.cpuUsage(self0);
    // wrk/h2load ran as our child and was reaped before this point.
    const loadS = (reapedChildTicks() - reaped0) / CLK_TCK + (self.user + self.system) / 1e6;
    const hwmKiB = treeStatus(pid, 'VmHWM');
    if (ctx.settleS > 0) await sleep(ctx.settleS * 1000);
    const rssAfterKiB = treeStatus(pid, 'VmRSS');

    const proxyCores = parseCores(cores);
    const loadCores = parseCores(ctx.placement.load);
    const { busy, steal } = coreBusy(cs0, cs1, proxyCores);
    const pct = (s: number): number => (100 * s) / wallS;
    const shared = proxyCores.some((p) => loadCores.includes(p));
    // Busy time on the contender's cores that neither it nor (when they share a core) the
    // upstream, load generator and harness account for.
    const other = Math.max(
      0,
      busy.reduce((a, b) => a + b, 0) - pct(pxS) - (shared ? pct(upS) + pct(loadS) : 0),
    );
    return {
      ...base,
      load,
      rps: load.seconds > 0 ? load.requests / load.seconds : 0,
      cpuUsPerReq: load.requests > 0 ? (pxS * 1e6) / load.requests : 0,
      proxyCpuPct: pct(pxS),
      upstreamCpuPct: pct(upS),
      loadCpuPct: pct(loadS),
      coreBusyPct: coreBusy(
        cs0,
        cs1,
        cs1.map((_, i) => i),
      ).busy,
      stealPct: steal,
      otherPct: other,
      disturbed: other > ctx.disturbPct,
      othersBusy: busiestOthers(all0, all1, mine, wallS),
      rssIdleMiB: rssIdleKiB / MiB,
      rssLoadMiB: rssLoadKiB / MiB,
      rssAfterMiB: rssAfterKiB / MiB,
      hwmMiB: hwmKiB / MiB,
      threads,
      tls,
      failed: load.failed,
    };
  } finally {
    await stopTree(child);
    // Access logs of fast contenders run to tens of MB per run.
    if (!ctx.keepRuns) rmSync(runDir, { recursive: true, force: true });
  }
}

function logTail(runDir: string): string {
  try {
    const lines = readFileSync(join(runDir, 'output.log'), 'utf8').trim().split('\n');
    return `output: ${lines.slice(-3).join(' | ').slice(0, 400)}`;
  } catch {
    return 'no output';
  }
}
