// `npm run bench:grpc`: gRPC unary calls through Pillion (`app.protocol: h2c`) beside NGINX
// `grpc_pass`, same machine, same run, same upstream. Each proxy runs one worker pinned with
// taskset to its own core; the load (h2load posting one fixed gRPC frame) and the upstream share
// the other. Reported: CPU µs per call of each proxy's whole process tree (utime+stime from
// /proc), calls/s, and Pillion's ratio to NGINX in each run. A bare Node HTTP/2 server that
// answers the calls itself (bench/h2-answer.ts) runs beside them as the floor. Runs are interleaved (N P, N P, …),
// bounded in count (h2load -n) and time (a timeout on each), and go to 127.0.0.1 only.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { selfSignedPair } from '../src/ingress/self-signed.ts';
import { echoClient } from '../test/fixtures/grpc-app.ts';
import { h2loadLatency, type LoadResult } from './lib/load.ts';
import { probePillion } from './lib/pillion-build.ts';
import { treeStatus, treeTicks } from './lib/proc.ts';
import type { RunRecord } from './lib/record.ts';

const run = promisify(execFile);
const CALLS = Number(process.env.BENCH_GRPC_CALLS ?? 30_000);
const RUNS = Math.max(3, Number(process.env.BENCH_RUNS ?? 3));
const CONNECTIONS = 8;
const STREAMS = 16;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** `--raw FILE`: each run also as a bench record (lib/record.ts), as `npm run bench` takes them
 * into bench/RESULTS.md (case `grpc-unary`); `--pillion-root DIR`: the checkout to drive. */
const args = parseArgs({
  options: { raw: { type: 'string' }, 'pillion-root': { type: 'string', default: ROOT } },
}).values;
const RAW = args.raw;
const CASE = 'grpc-unary';
const CASE_TITLE = `gRPC unary calls (h2load posting one EchoRequest, 8 connections × 16 streams), Pillion \`app.protocol: h2c\` vs nginx \`grpc_pass\`, bench/grpc.ts`;
const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux
const [LOAD_CPU, PROXY_CPU] = cpus().length > 1 ? ['0', '1'] : ['0', '0'];

const dir = mkdtempSync(join(tmpdir(), 'pillion-bench-grpc-'));
chmodSync(dir, 0o755); // NGINX's workers (nobody) write their access log here
const children: ChildProcess[] = [];
process.on('exit', () => {
  // SIGTERM: an NGINX master stops its workers on it; SIGKILL would orphan them.
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});
// Stopped early: the children go too ('exit' runs only on process.exit).
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

function start(cmd: string, args: string[], out: 'ignore' | number = 'ignore'): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', out, 'inherit'] });
  children.push(c);
  return c;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => resolve(s.destroy() !== undefined));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** One EchoRequest{text:"hello"} as a gRPC length-prefixed message (what h2load posts). */
function grpcFrame(text: string, field = 1): Buffer {
  const msg = Buffer.concat([Buffer.from([(field << 3) | 2, text.length]), Buffer.from(text)]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

async function h2load(port: number, n: number): Promise<LoadResult & { rps: number; ok: number }> {
  const logFile = join(dir, `h2load-${port}.log`);
  const { stdout } = await run(
    'taskset',
    [
      '-c',
      LOAD_CPU,
      'h2load',
      '-n',
      String(n),
      '-c',
      String(CONNECTIONS),
      '-m',
      String(STREAMS),
      '-d',
      join(dir, 'request.bin'),
      '-H',
      'content-type: application/grpc',
      '-H',
      'te: trailers',
      `--log-file=${logFile}`,
      `https://127.0.0.1:${port}/pillion.test.Echo/Unary`,
    ],
    { timeout: 120_000 },
  );
  const ok = Number(/(\d+) 2xx/.exec(stdout)?.[1] ?? 0);
  if (ok !== n) console.error(`h2load on ${port}: ${ok} of ${n} got 2xx\n${stdout}`);
  const fin = /finished in ([\d.]+)(m?s), ([\d.]+) req\/s/.exec(stdout);
  return {
    rps: Number(fin?.[3]),
    ok,
    requests: ok,
    seconds: Number(fin?.[1]) / (fin?.[2] === 'ms' ? 1000 : 1),
    bytes: Number(/traffic: [\d.]+\w* \((\d+)\) total/.exec(stdout)?.[1] ?? 0),
    // Calls that did not get a 2xx (h2load counts a gRPC error status in trailers as 2xx).
    errors: { connect: 0, read: 0, write: 0, status: n - ok, timeout: 0 },
    ...h2loadLatency(logFile),
    alpn: /Application protocol: (\S+)/.exec(stdout)?.[1],
  };
}

/** One real grpc-js call through the proxy: the upstream's reply must decode. */
async function check(port: number, ca: string): Promise<void> {
  const Echo = echoClient();
  const client = new Echo(`localhost:${port}`, grpc.credentials.createSsl(Buffer.from(ca)));
  const text = await new Promise<string>((resolve, reject) =>
    (
      client as unknown as Record<
        string,
        (r: object, cb: (e: Error | null, r: { text: string }) => void) => void
      >
    ).Unary({ text: 'hello' }, (e, r) => (e ? reject(e) : resolve(r.text))),
  );
  client.close();
  if (text !== 'hello') throw new Error(`unexpected reply through ${port}: ${text}`);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const pair = await selfSignedPair(join(dir, 'state'));
  const [up, pNginx, pPillion, pNode] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  writeFileSync(join(dir, 'request.bin'), grpcFrame('hello'));
  // The upstream: a bare Node HTTP/2 server over h2c answering every call from memory with one
  // fixed EchoReply and grpc-status 0 in trailers, on the load's core. Both proxies see the
  // same app. (NGINX as that upstream answered before reading the body, and NGINX grpc_pass
  // then failed 0.5% of calls on the late frames: "upstream sent frame for unknown stream".)
  const answer = fileURLToPath(new URL('./h2-answer.ts', import.meta.url));
  writeFileSync(join(dir, 'reply.bin'), grpcFrame('hello'));
  start('taskset', ['-c', LOAD_CPU, process.execPath, answer, String(up), join(dir, 'reply.bin')]);
  // Both proxies write an access line per call to a file.
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log ${dir}/nginx-access.log; keepalive_requests 1000000;
  upstream app { server 127.0.0.1:${up}; keepalive 64; keepalive_requests 1000000; }
  server { listen 127.0.0.1:${pNginx} ssl http2;
    ssl_certificate ${pair.certFile}; ssl_certificate_key ${pair.keyFile};
    location / { grpc_pass grpc://app; grpc_set_header X-Forwarded-For $remote_addr; } } }`,
  );
  const nginx = start('taskset', [
    '-c',
    PROXY_CPU,
    'nginx',
    '-p',
    dir,
    '-c',
    join(dir, 'nginx.conf'),
    '-g',
    'daemon off;',
  ]);
  // As the installed command starts: bin/pillion.js with its shebang's Node options.
  const build = probePillion(args['pillion-root']);
  const pillion = start(
    'taskset',
    [
      '-c',
      PROXY_CPU,
      build.node,
      ...build.nodeArgs,
      // e.g. BENCH_NODE_ARGS=--cpu-prof to profile Pillion under the load
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      build.bin,
      'run',
      '--admin',
      '127.0.0.1:0',
      '--listen',
      `127.0.0.1:${pPillion}`,
      '--app-port',
      String(up),
      '--app-protocol',
      'h2c',
      '--cert',
      pair.certFile,
      '--key',
      pair.keyFile,
    ],
    openSync(join(dir, 'pillion-access.log'), 'a'),
  );
  // The floor: Node's HTTP/2 server side alone, answering each call itself.
  const node = start('taskset', [
    '-c',
    PROXY_CPU,
    process.execPath,
    answer,
    String(pNode),
    join(dir, 'reply.bin'),
    pair.certFile,
    pair.keyFile,
  ]);
  await Promise.all([up, pNginx, pPillion, pNode].map(waitForPort));
  await sleep(1000); // Pillion's readiness probe sees the upstream
  const peers = [
    { name: 'nginx', port: pNginx, pid: nginx.pid as number },
    { name: 'pillion', port: pPillion, pid: pillion.pid as number },
    { name: 'node-h2', port: pNode, pid: node.pid as number },
  ];
  for (const p of peers) {
    // The generated certificate is issued by the state directory's local CA: trust that.
    await check(p.port, readFileSync(pair.caFile as string, 'utf8'));
    await h2load(p.port, Math.min(5000, CALLS)); // warm-up (JIT, pools), discarded
  }
  const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const rows: Record<string, { us: number[]; rps: number[] }> = {
    nginx: { us: [], rps: [] },
    pillion: { us: [], rps: [] },
    'node-h2': { us: [], rps: [] },
  };
  if (RAW) writeFileSync(RAW, '');
  for (let i = 0; i < RUNS; i++) {
    for (const p of peers) {
      const before = treeTicks(p.pid);
      // RSS under load: the last reading before the load ends, every 250 ms.
      let rssKiB = treeStatus(p.pid, 'VmRSS');
      const sampler = setInterval(() => {
        rssKiB = treeStatus(p.pid, 'VmRSS');
      }, 250);
      const r = await h2load(p.port, CALLS).finally(() => clearInterval(sampler));
      const ticks = treeTicks(p.pid) - before;
      const us = (ticks * TICK_US) / Math.max(1, r.ok);
      rows[p.name].us.push(us);
      rows[p.name].rps.push(r.rps);
      console.log(
        `run ${i + 1} ${p.name.padEnd(8)} ${us.toFixed(1).padStart(6)} µs CPU/call  ${r.rps.toFixed(0).padStart(6)} calls/s`,
      );
      if (RAW) {
        const { rps, ok, ...load } = r;
        const rec: RunRecord = {
          ts: new Date().toISOString(),
          case: CASE,
          caseTitle: CASE_TITLE,
          contender: p.name,
          rep: i + 1,
          attempt: 1,
          placement: { load: LOAD_CPU, proxy: PROXY_CPU, upstream: LOAD_CPU },
          seconds: r.seconds,
          failed: ok === CALLS ? undefined : `${CALLS - ok} of ${CALLS} calls without a 2xx`,
          load,
          rps,
          cpuUsPerReq: us,
          proxyCpuPct: (100 * ticks * TICK_US) / 1e6 / Math.max(1e-9, r.seconds),
          rssLoadMiB: rssKiB / 1024,
        };
        appendFileSync(RAW, `${JSON.stringify(rec)}\n`);
      }
    }
  }
  const load1 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const ratios = rows.pillion.us.map((u, i) => u / rows.nginx.us[i]);
  const rss = readFileSync(`/proc/${pillion.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1];
  const span = (xs: number[], d: number) =>
    `${median(xs).toFixed(d)} (${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)})`;
  console.log(`\n${CALLS} calls × ${RUNS} runs, ${CONNECTIONS} connections × ${STREAMS} streams`);
  console.log(`load average before ${load0}, after ${load1}`);
  for (const [name, r] of Object.entries(rows))
    console.log(`${name.padEnd(8)} µs CPU/call ${span(r.us, 1)}   calls/s ${span(r.rps, 0)}`);
  console.log(`pillion/nginx CPU per call: ${span(ratios, 2)} (per-run ratios, same run)`);
  console.log(
    `node-h2 (Node's HTTP/2 server alone, answering itself)/nginx: ${span(
      rows['node-h2'].us.map((u, i) => u / rows.nginx.us[i]),
      2,
    )}`,
  );
  console.log(`pillion RSS after load: ${(Number(rss) / 1024).toFixed(0)} MiB`);
  console.log(JSON.stringify({ calls: CALLS, runs: RUNS, load: [load0, load1], rows, ratios }));
}

await main();
// The children's handles keep the loop alive: exit, which stops them.
process.exit(0);
