// The app every contender forwards to: nginx with one worker, plain HTTP/1.1, keep-alive
// effectively unlimited, on the load generator's core (as in the workplace's peer baseline: a
// Node upstream has half the capacity and would become the bottleneck).
//   /small -> `return 200 "hello world\n"` (12 bytes, no file I/O)
//   /16k, /1m -> static files (page cache, sendfile)
//   POST /post -> the whole body (up to 2 MiB) is read into memory first, then 12 bytes come back
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPinned, waitPort } from './spawn.ts';

export function upstreamConf(port: number, www: string, runDir: string): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((k) => `  ${k}_temp_path ${runDir}/${k};`)
    .join('\n');
  return `worker_processes 1;
daemon off;
pid ${runDir}/nginx.pid;
error_log ${runDir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  default_type text/plain;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 300s;
  keepalive_requests 100000000;
  open_file_cache max=16;
${temp}
  upstream self {
    server 127.0.0.1:${port};
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${www};
    location = /small { return 200 "hello world\\n"; }
    location = /post {
      # proxy_pass reads the whole request body before it forwards (request buffering is on),
      # so the answer comes only after all of it arrived; the body itself goes no further.
      client_max_body_size 2m;
      client_body_buffer_size 2m;
      proxy_pass http://self/small;
      proxy_pass_request_body off;
      proxy_method GET;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Content-Length "";
      proxy_set_header Content-Type "";
    }
    location / { }
  }
}
`;
}

export async function startUpstream(
  port: number,
  www: string,
  dir: string,
  cores: string,
): Promise<ChildProcess> {
  const runDir = join(dir, 'upstream');
  mkdirSync(runDir, { recursive: true });
  const conf = join(runDir, 'nginx.conf');
  writeFileSync(conf, upstreamConf(port, www, runDir));
  const child = startPinned(
    cores,
    'nginx',
    ['-p', runDir, '-e', `${runDir}/error.log`, '-c', conf],
    { log: join(runDir, 'stdout.log') },
  );
  await waitPort(port, 10_000, child);
  return child;
}
