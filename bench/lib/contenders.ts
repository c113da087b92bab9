// The proxies the bench compares. Each one terminates TLS on 127.0.0.1:listen and forwards
// HTTP/1.1 to the upstream on 127.0.0.1:upstream, with one worker (one thread for the data path),
// started in the foreground so the PID the bench holds is the server (its whole process tree is
// measured). The nginx and HAProxy settings follow the workplace's peer baseline: pooled
// keep-alive upstream connections, effectively unlimited keep-alive, defaults otherwise.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PillionBuild } from './pillion-build.ts';

export interface Launch {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface LaunchContext {
  listen: number;
  upstream: number;
  cert: string;
  key: string;
  /** An empty directory for the contender's config, logs and temp files. */
  runDir: string;
  /** Whether peers write an access log (Pillion's is governed by its own variant). */
  peerAccessLog: boolean;
}

export interface Contender {
  name: string;
  desc: string;
  /** Offers HTTP/2 by ALPN. */
  h2: boolean;
  /** `proxy`: pinned to the proxy core alone; `all`: every core (a multi-worker variant). */
  placement: 'proxy' | 'all';
  /** Set when this build cannot run the contender; the report says why. */
  unavailable?: string;
  launch(ctx: LaunchContext): Launch;
}

const NODE_NAIVE = fileURLToPath(new URL('../node-naive.ts', import.meta.url));

function tempPaths(run: string): string {
  return ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${run}/${k};`)
    .join('\n');
}

const nginx: Contender = {
  name: 'nginx',
  desc: 'nginx, master + 1 worker; TLS 1.2/1.3, HTTP/1.1 and h2 by ALPN; proxy_pass to an upstream{} pool (keepalive 128, HTTP/1.1, Connection ""); request bodies streamed (proxy_request_buffering off); defaults otherwise',
  h2: true,
  placement: 'proxy',
  launch: ({ listen, upstream, cert, key, runDir, peerAccessLog }) => {
    const conf = join(runDir, 'nginx.conf');
    writeFileSync(
      conf,
      `worker_processes 1;
daemon off;
pid ${runDir}/nginx.pid;
error_log ${runDir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log ${peerAccessLog ? `${runDir}/access.log` : 'off'};
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  client_max_body_size 2m;
${tempPaths(runDir)}
  upstream app {
    server 127.0.0.1:${upstream};
    keepalive 128;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${listen} ssl http2 backlog=4096;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
    }
  }
}
`,
    );
    return { cmd: 'nginx', args: ['-p', runDir, '-e', `${runDir}/error.log`, '-c', conf] };
  },
};

const haproxy: Contender = {
  name: 'haproxy',
  desc: 'HAProxy, one process, nbthread 1; mode http, TLS (ALPN h2,http/1.1); backend http-reuse always (idle server-connection pool); access log: option httplog to stdout',
  h2: true,
  placement: 'proxy',
  launch: ({ listen, upstream, cert, key, runDir, peerAccessLog }) => {
    const pem = join(runDir, 'combined.pem');
    // HAProxy wants the chain and key in one file.
    writeFileSync(pem, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
    const conf = join(runDir, 'haproxy.cfg');
    writeFileSync(
      conf,
      `global
  nbthread 1
  maxconn 8000
  ssl-default-bind-options ssl-min-ver TLSv1.2
${peerAccessLog ? '  log stdout format raw local0\n' : ''}defaults
  mode http
${peerAccessLog ? '  log global\n  option httplog\n' : ''}  option http-keep-alive
  timeout connect 5s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
frontend fe
  bind 127.0.0.1:${listen} ssl crt ${pem} alpn h2,http/1.1
  default_backend app
backend app
  http-reuse always
  server s1 127.0.0.1:${upstream}
`,
    );
    return { cmd: 'haproxy', args: ['-db', '-f', conf] };
  },
};

const nodeNaive: Contender = {
  name: 'node-naive',
  desc: 'Node 24 https.createServer + http.request through a keep-alive http.Agent (maxSockets 256), pipe() both ways, hop-by-hop headers dropped; access log: one line per request to stdout',
  h2: false,
  placement: 'proxy',
  launch: ({ listen, upstream, cert, key, peerAccessLog }) => ({
    cmd: process.execPath,
    args: [
      NODE_NAIVE,
      String(listen),
      String(upstream),
      cert,
      key,
      peerAccessLog ? 'log' : 'nolog',
    ],
  }),
};

function pillion(
  build: PillionBuild,
  name: string,
  desc: string,
  variant: { extra?: (runDir: string) => string[]; unavailable?: string; all?: boolean },
): Contender {
  return {
    name,
    desc: `${desc} (${build.describe})`,
    h2: true,
    placement: variant.all ? 'all' : 'proxy',
    unavailable: variant.unavailable,
    launch: ({ listen, upstream, cert, key, runDir }) => {
      const extra = variant.extra?.(runDir) ?? [];
      // The admin listener on any free port unless the variant sets it: a run never takes
      // (or loses) the default one.
      if (build.admin && !extra.includes('--admin')) extra.push(...build.admin('127.0.0.1:0'));
      const env: NodeJS.ProcessEnv = { ...process.env, PILLION_STATE_DIR: join(runDir, 'state') };
      delete env.PILLION_CONFIG;
      const args = [
        ...build.nodeArgs,
        build.bin,
        'run',
        '--listen',
        `127.0.0.1:${listen}`,
        '--app-port',
        String(upstream),
        '--cert',
        cert,
        '--key',
        key,
        ...extra,
      ];
      return { cmd: build.node, args, env };
    },
  };
}

/** Every contender, Pillion's variants shaped by what this build's CLI offers. */
export function allContenders(build: PillionBuild): Contender[] {
  return [
    nginx,
    haproxy,
    nodeNaive,
    pillion(
      build,
      'pillion',
      'Pillion, attach mode, 1 worker, defaults (access log on, JSON lines to stdout, metrics on)',
      {},
    ),
    pillion(
      build,
      'pillion-nometrics',
      'Pillion, attach mode, 1 worker, defaults but metrics off (--admin off)',
      {
        unavailable: build.admin ? undefined : build.adminMissing,
        extra: build.admin ? () => build.admin?.('off') ?? [] : undefined,
      },
    ),
    pillion(build, 'pillion-nolog', 'Pillion, attach mode, 1 worker, access log off', {
      unavailable: build.accessLogOff ? undefined : build.accessLogOffMissing,
      extra: build.accessLogOff,
    }),
    pillion(build, 'pillion-w2', 'Pillion, attach mode, workers: 2, pinned to every core', {
      unavailable: build.workers ? undefined : build.workersMissing,
      extra: build.workers ? () => build.workers?.(2) ?? [] : undefined,
      all: true,
    }),
  ];
}
