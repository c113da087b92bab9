// R7 figures: the real CLI under `prlimit --nofile=4096`. First the cap's refusal time: with the
// cap held by idle connections, more connects from 127.0.0.x, 10 at a time, timed from the
// client's `connect` to the peer's close. Then 10,000 attempts in waves (test/edge/fd-flood.ts)
// while a probe sends HTTP/1.1 and HTTP/2 requests at 10/s over kept-alive connections: probe
// success and p99, and how long Pillion's fds take to come back to baseline after the flood.
// For comparison, a second probe opens a fresh TLS connection per request (5/s): it meets the
// cap like the flood does, unless a third run's per-source cap keeps the flood's 8 addresses
// to 100 connections each. Each line ends with `holds`: R7's figures judged (refusal p99 under
// 10 ms, probe success at least 99%, fds back within 10 s, Pillion alive), and the load average.
// Run: npm run bench:fd-exhaustion -- [refusals=1000] [attempts=10000]
import { readdirSync } from 'node:fs';
import { request } from 'node:https';
import { connect, type Socket } from 'node:net';
import { alive } from '../test/e2e/harness.ts';
import { fdCount, flood, Probe, startUnderFdLimit } from '../test/edge/fd-flood.ts';
import { loadAverage } from './lib/meta.ts';

const refusals = Number(process.argv[2] ?? 1000);
const attempts = Number(process.argv[3] ?? 10_000);
const NOFILE = 4096;
const FD_MARGIN = 10;
const ownFds = (): number => readdirSync('/proc/self/fd').length;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return (
    Math.round((s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? Number.NaN) * 100) / 100
  );
};

/** Opens `n` idle plain connections that the server keeps; resolves once all are connected. */
async function hold(port: number, n: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < n; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, (_, j) => {
        const s = connect({
          host: '127.0.0.1',
          port,
          localAddress: `127.0.0.${2 + ((i + j) % 8)}`,
        });
        s.on('error', () => {});
        out.push(s);
        return new Promise((r) => s.once('connect', r));
      }),
    );
  }
  return out;
}

/** One connect past the cap: ms from `connect` to the peer's close, or undefined if kept. */
function refusedAfter(port: number, source: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, localAddress: source });
    let t0 = 0;
    s.on('error', () => {});
    s.once('connect', () => {
      t0 = performance.now();
    });
    const kept = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, 2000);
    s.once('close', () => {
      clearTimeout(kept);
      resolve(t0 > 0 ? performance.now() - t0 : undefined);
    });
  });
}

/** One HTTPS request on a new connection: ms, or undefined if it failed. */
function fresh(port: number): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/fresh', rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : undefined));
      },
    );
    req.setTimeout(5000, () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

async function run(maxConnections: number | undefined, perSource?: number): Promise<void> {
  const p = startUnderFdLimit(NOFILE, maxConnections, perSource);
  try {
    const port = await p.port();
    await p.ready();
    const pid = p.proc.pid ?? 0;
    const cap = Number(p.lines.find((l) => l.msg === 'ingress listening')?.max_connections);

    // 1. Refusal time at the cap (not with a per-source cap: the holders would meet that one).
    const held = perSource ? [] : await hold(port, cap);
    await new Promise((r) => setTimeout(r, 300));
    const refusalMs: number[] = [];
    let kept = 0;
    for (let i = 0; i < (perSource ? 0 : refusals); i += 10) {
      const got = await Promise.all(
        Array.from({ length: 10 }, (_, j) => refusedAfter(port, `127.0.0.${10 + ((i + j) % 8)}`)),
      );
      for (const ms of got) {
        if (ms === undefined) kept++;
        else refusalMs.push(ms);
      }
    }
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 500));

    // 2. The flood, with the probe.
    const probe = new Probe(port);
    await probe.start(10);
    await new Promise((r) => setTimeout(r, 300));
    const baseline = fdCount(pid);
    let peak = baseline;
    let ownPeak = ownFds();
    const sampler = setInterval(() => {
      peak = Math.max(peak, fdCount(pid));
      ownPeak = Math.max(ownPeak, ownFds());
    }, 25);
    const freshMs: (number | undefined)[] = [];
    const pendingFresh: Promise<void>[] = [];
    const freshTimer = setInterval(() => {
      pendingFresh.push(fresh(port).then((ms) => void freshMs.push(ms)));
    }, 200);
    const t0 = performance.now();
    const f = await flood({ port, attempts, wave: 2500, tlsEvery: 10, sources: 8 });
    const floodMs = performance.now() - t0;
    clearInterval(freshTimer);
    await Promise.all(pendingFresh);
    const freshOk = freshMs.filter((x): x is number => x !== undefined);
    // Recovery: from the flood's last close to fds back at baseline (+ margin), up to 30 s.
    const closedAt = performance.now();
    let recoveryMs = Number.NaN;
    while (performance.now() - closedAt < 30_000) {
      if (fdCount(pid) <= baseline + FD_MARGIN) {
        recoveryMs = performance.now() - closedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    clearInterval(sampler);
    const pr = await probe.stop();
    // The last summary line of a burst comes at most a second after it.
    await new Promise((r) => setTimeout(r, 1100));
    const rejected = p.lines.filter((l) => l.msg === 'connection rejected');
    const success = pr.ok / (pr.ok + pr.failed);
    const refusalP99 = pct(refusalMs, 0.99);
    console.log(
      JSON.stringify({
        max_connections: maxConnections ?? 'default (10000)',
        max_connections_per_source: perSource ?? 'off',
        nofile: NOFILE,
        cap,
        refusal: {
          n: refusalMs.length,
          kept,
          p50_ms: pct(refusalMs, 0.5),
          p99_ms: pct(refusalMs, 0.99),
          max_ms: pct(refusalMs, 1),
        },
        flood: {
          attempts: f.attempts,
          held: f.held,
          refused: f.refused,
          failed: f.failed,
          seconds: Math.round(floodMs / 100) / 10,
          refused_p50_ms: pct(f.refusalMs, 0.5),
          refused_p99_ms: pct(f.refusalMs, 0.99),
        },
        probe: {
          requests: pr.ok + pr.failed,
          success,
          p50_ms: pct(pr.latencyMs, 0.5),
          p99_ms: pct(pr.latencyMs, 0.99),
          errors: pr.errors.slice(0, 3),
        },
        fresh_probe: {
          requests: freshMs.length,
          success: freshOk.length / freshMs.length,
          p99_ms: pct(freshOk, 0.99),
        },
        fds: { baseline, peak, recovery_ms: Math.round(recoveryMs), after: fdCount(pid) },
        bench_fds_peak: ownPeak,
        alive: alive(pid),
        rejection_log_lines: rejected.length,
        rejections_counted: Number(
          rejected
            .filter(
              (l) => l.reason === 'MAX_CONNECTIONS' || l.reason === 'MAX_CONNECTIONS_PER_SOURCE',
            )
            .at(-1)?.count ?? 0,
        ),
        load: loadAverage(),
        holds: {
          alive: alive(pid),
          refusal_p99_under_10ms: perSource ? 'not measured' : refusalP99 < 10,
          probe_success_ge_99pct: success >= 0.99,
          fds_back_within_10s: recoveryMs <= 10_000,
        },
      }),
    );
    p.proc.kill('SIGTERM');
    await p.exited;
  } finally {
    p.kill();
  }
}

await run(undefined);
await run(1000);
// The flood comes from 8 addresses: 100 each leaves most of the cap to everyone else.
await run(undefined, 100);
