// `npm run bench:workers`: req/s and CPU per request of `--workers 1` against `--workers 2`,
// HTTPS HTTP/1.1 through Pillion (attach mode) to a small NGINX upstream, with wrk. CPU is
// Pillion's whole process tree (primary and workers, utime+stime from /proc), so the cost of
// relaying access lines over IPC is counted. Runs are bounded in time and go to 127.0.0.1 only.
// BENCH_ENTRY=path/to/src/main.ts measures another checkout's Pillion (e.g. before workers).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { selfSignedPair } from '../src/ingress/self-signed.ts';

const run = promisify(execFile);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = 32;
const MAIN = process.env.BENCH_ENTRY ?? fileURLToPath(new URL('../src/main.ts', import.meta.url));
const COUNTS = (process.env.BENCH_WORKERS ?? '1,2,1,2').split(',').map(Number);
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux
// BENCH_PIN=1: Pillion (all its processes) on CPU 1, wrk and the upstream on CPU 0. Both
// settings then have one core, so CPU per request shows the workers' own cost, not contention.
const PIN = process.env.BENCH_PIN === '1';
const pinned = (cpu: number, cmd: string, args: string[]): [string, string[]] =>
  PIN ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];

const dir = mkdtempSync(join(tmpdir(), 'pillion-bench-'));
const children: ChildProcess[] = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** utime+stime in clock ticks of `pid` alone. */
function ownTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** utime+stime in clock ticks of `pid` and its child processes (the workers), recursively. */
function treeTicks(pid: number): number {
  let ticks = ownTicks(pid);
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
    for (const k of kids ? kids.split(' ') : []) ticks += treeTicks(Number(k));
  } catch {}
  return ticks;
}

async function wrk(url: string, seconds: number): Promise<{ requests: number; rps: number }> {
  const { stdout } = await run(
    ...pinned(0, 'wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, url]),
    {
      timeout: (seconds + 30) * 1000,
    },
  );
  if (/Non-2xx|Socket errors/.test(stdout)) console.error(`wrk: ${stdout}`);
  return {
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1]),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
  };
}

async function measure(workers: number, up: number, pair: { certFile: string; keyFile: string }) {
  const port = await freePort();
  const p = spawn(
    ...pinned(1, process.execPath, [
      MAIN,
      'run',
      '--admin',
      '127.0.0.1:0',
      '--listen',
      `127.0.0.1:${port}`,
      '--app-port',
      String(up),
      '--cert',
      pair.certFile,
      '--key',
      pair.keyFile,
      ...(workers > 1 ? ['--workers', String(workers)] : []),
    ]),
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PILLION_STATE_DIR: dir } },
  );
  children.push(p);
  await waitForPort(port);
  await sleep(1000);
  const url = `https://127.0.0.1:${port}/`;
  await wrk(url, 2); // warm-up, discarded
  const pid = p.pid as number;
  const before = treeTicks(pid);
  const primaryBefore = ownTicks(pid);
  const r = await wrk(url, SECONDS);
  const cpuUs = ((treeTicks(pid) - before) * TICK_US) / r.requests;
  const primaryUs = ((ownTicks(pid) - primaryBefore) * TICK_US) / r.requests;
  p.kill('SIGTERM');
  await new Promise((resolve) => p.once('exit', resolve));
  return { workers, rps: r.rps, cpu_us_per_request: cpuUs, primary_us_per_request: primaryUs };
}

async function main(): Promise<void> {
  const pair = await selfSignedPair(join(dir, 'state'));
  const up = await freePort();
  writeFileSync(
    join(dir, 'upstream.conf'),
    `worker_processes 1; pid ${dir}/up.pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  server { listen 127.0.0.1:${up}; location / { return 200 "hello from upstream\\n"; } } }`,
  );
  const nginx = spawn(
    ...pinned(0, 'nginx', ['-p', dir, '-c', join(dir, 'upstream.conf'), '-g', 'daemon off;']),
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  children.push(nginx);
  await waitForPort(up);
  const results: Awaited<ReturnType<typeof measure>>[] = [];
  for (const n of COUNTS) {
    const r = await measure(n, up, pair);
    results.push(r);
    console.log(
      `workers ${n}: ${r.rps.toFixed(0).padStart(6)} req/s  ${r.cpu_us_per_request.toFixed(1)} us CPU/request (primary ${r.primary_us_per_request.toFixed(1)})`,
    );
  }
  // Median and spread of the alternating runs: single runs on a shared machine differ widely.
  const stats = (n: number, k: 'rps' | 'cpu_us_per_request'): [number, number, number] => {
    const v = results
      .filter((r) => r.workers === n)
      .map((r) => r[k])
      .sort((x, y) => x - y);
    return [v[Math.floor((v.length - 1) / 2)], v[0], v[v.length - 1]];
  };
  for (const n of [...new Set(COUNTS)]) {
    const [rps, rLo, rHi] = stats(n, 'rps');
    const [cpu, cLo, cHi] = stats(n, 'cpu_us_per_request');
    console.log(
      `workers ${n} median: ${rps.toFixed(0)} req/s (${rLo.toFixed(0)}-${rHi.toFixed(0)}), ${cpu.toFixed(1)} us CPU/request (${cLo.toFixed(1)}-${cHi.toFixed(1)})`,
    );
  }
  if (COUNTS.includes(1) && COUNTS.includes(2)) {
    console.log(
      `workers 2 / workers 1 (medians): req/s ${(stats(2, 'rps')[0] / stats(1, 'rps')[0]).toFixed(2)}, CPU/request ${(stats(2, 'cpu_us_per_request')[0] / stats(1, 'cpu_us_per_request')[0]).toFixed(2)}`,
    );
  }
  console.log(
    JSON.stringify({
      seconds: SECONDS,
      connections: CONNECTIONS,
      cores: (await import('node:os')).availableParallelism(),
      results,
    }),
  );
}

await main();
process.exit(0);
