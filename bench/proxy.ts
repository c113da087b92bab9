// `npm run bench`: Pillion's HTTPS proxy beside NGINX and HAProxy, same machine, same run, same
// upstream, each peer on one worker (Node's event loop is one thread). Reports req/s and p99
// for HTTP/1.1 (wrk) and HTTP/2 (h2load), and Pillion's ratio to each peer. Load runs are
// bounded in time (wrk) or in count (h2load) and go to 127.0.0.1 only.
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
const H2_REQUESTS = Number(process.env.BENCH_H2_REQUESTS ?? 50_000);
const CONNECTIONS = 32;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'pillion-bench-'));
const children: ChildProcess[] = [];
const stopAll = (): void => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
};
process.on('exit', () => {
  stopAll();
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

function start(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  return c;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(true)); // in use: someone listens
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on ${port}`);
}

async function wrk(url: string): Promise<{ rps: number; p99ms: number }> {
  const { stdout } = await run(
    'wrk',
    ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', url],
    { timeout: (SECONDS + 30) * 1000 },
  );
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const m = /99%\s+([\d.]+)(us|ms|s)/.exec(stdout);
  const p99ms = m ? Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1) : Number.NaN;
  if (/Non-2xx|Socket errors/.test(stdout)) console.error(`wrk ${url}: ${stdout}`);
  return { rps, p99ms };
}

async function h2load(url: string): Promise<{ rps: number; failed: number }> {
  const { stdout } = await run('h2load', ['-n', String(H2_REQUESTS), '-c', '16', '-m', '10', url], {
    timeout: 120_000,
  });
  return {
    rps: Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(stdout)?.[1]),
    failed: Number(/(\d+) failed/.exec(stdout)?.[1]),
  };
}

async function main(): Promise<void> {
  const pair = await selfSignedPair(join(dir, 'state'));
  writeFileSync(join(dir, 'combined.pem'), pair.cert + pair.key);
  const [up, pNginx, pHaproxy, pPillion] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);

  // The upstream: a small fast HTTP server (NGINX answering from memory), shared by all peers.
  writeFileSync(
    join(dir, 'upstream.conf'),
    `worker_processes 1; pid ${dir}/up.pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  server { listen 127.0.0.1:${up}; location / { return 200 "hello from upstream\\n"; } } }`,
  );
  start('nginx', ['-p', dir, '-c', join(dir, 'upstream.conf'), '-g', 'daemon off;']);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log stderr error;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  upstream app { server 127.0.0.1:${up}; keepalive 64; }
  server { listen 127.0.0.1:${pNginx} ssl http2;
    ssl_certificate ${pair.certFile}; ssl_certificate_key ${pair.keyFile};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Forwarded-Proto https; } } }`,
  );
  start('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option forwardfor
  http-reuse always
frontend fe
  bind 127.0.0.1:${pHaproxy} ssl crt ${dir}/combined.pem alpn h2,http/1.1
  http-request set-header X-Forwarded-Proto https
  default_backend app
backend app
  server up 127.0.0.1:${up}
`,
  );
  start('haproxy', ['-f', join(dir, 'haproxy.cfg'), '-db']);
  const pillion = start(process.execPath, [
    MAIN,
    'run',
    '--listen',
    `127.0.0.1:${pPillion}`,
    '--app-port',
    String(up),
    '--cert',
    pair.certFile,
    '--key',
    pair.keyFile,
  ]);
  // Pillion's log goes to /dev/null here: the access log is written, as in production, to a pipe's cost aside.
  await Promise.all([up, pNginx, pHaproxy, pPillion].map(waitForPort));
  await sleep(500);

  const peers = { nginx: pNginx, haproxy: pHaproxy, pillion: pPillion };
  const results: Record<
    string,
    { h1: { rps: number; p99ms: number }; h2: { rps: number; failed: number } }
  > = {};
  for (const [name, port] of Object.entries(peers)) {
    await wrk(`https://127.0.0.1:${port}/`).catch(() => undefined); // warm-up run, discarded
    const h1 = await wrk(`https://127.0.0.1:${port}/`);
    const h2 = await h2load(`https://127.0.0.1:${port}/`);
    results[name] = { h1, h2 };
    console.log(
      `${name.padEnd(8)} h1 ${h1.rps.toFixed(0).padStart(7)} req/s  p99 ${h1.p99ms.toFixed(2)} ms   h2 ${h2.rps.toFixed(0).padStart(7)} req/s (${h2.failed} failed)`,
    );
  }
  const rss = readFileSync(`/proc/${pillion.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1];
  const p = results.pillion;
  for (const peer of ['nginx', 'haproxy']) {
    const r = results[peer];
    console.log(
      `pillion/${peer}: h1 req/s ${(p.h1.rps / r.h1.rps).toFixed(2)}, h1 p99 ${(p.h1.p99ms / r.h1.p99ms).toFixed(2)}, h2 req/s ${(p.h2.rps / r.h2.rps).toFixed(2)}`,
    );
  }
  console.log(`pillion RSS after load: ${(Number(rss) / 1024).toFixed(0)} MiB`);
  console.log(
    JSON.stringify({
      seconds: SECONDS,
      connections: CONNECTIONS,
      h2_requests: H2_REQUESTS,
      results,
      pillion_rss_kib: Number(rss),
    }),
  );
}

try {
  await main();
} finally {
  stopAll();
}
