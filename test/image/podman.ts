// Helpers of the image test (npm run test:image): podman as scripts/test-image.sh sets it up
// (runc, explicit rlimits through CONTAINERS_CONF), free ports and HTTPS requests from the host.
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const IMAGE = process.env.IMAGE ?? '';
/** podman's flags for every container here (CONTAINERS.md): runc, rlimits it may not raise. */
export const LIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

export interface Done {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs podman; resolves with its exit code and output (a non-zero exit does not throw). */
export async function podman(args: string[], timeoutMs = 120_000): Promise<Done> {
  try {
    const r = await run('podman', ['--runtime', 'runc', ...args], {
      timeout: timeoutMs,
      maxBuffer: 32 << 20,
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** podman, failing with its stderr unless it exits 0. */
export async function podmanOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await podman(args, timeoutMs);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A port the OS had free a moment ago (the pod shares the host's network namespace). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface Reply {
  status: number;
  body: string;
}

/** One GET over HTTPS (certificate not verified) or plain HTTP, on a fresh connection. */
export function get(url: string, timeoutMs = 10_000): Promise<Reply> {
  if (url.startsWith('http:')) {
    return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(async (r) => ({
      status: r.status,
      body: await r.text(),
    }));
  }
  return new Promise((resolve, reject) => {
    const opts = { rejectUnauthorized: false, agent: false, timeout: timeoutMs };
    const req = request(url, opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `probe` every 200 ms until it returns a value, for at most `ms`. */
export async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}
