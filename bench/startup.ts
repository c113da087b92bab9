// Start-up of the real CLI: from spawning `node bin/pillion.js run … -- APP` to the HTTPS port
// accepting a TLS handshake, and to the first 200 through it. The state dir keeps the
// certificate a warm-up start made (the common case: a restart); `cold` runs also start with
// an empty compile cache (the first run after an install). Used by first-request.ts.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/pillion.js', import.meta.url));
const APP = fileURLToPath(new URL('../test/fixtures/app.ts', import.meta.url));

export interface StartupRun {
  /** Spawn to a completed TLS handshake on the HTTPS port. */
  acceptMs: number;
  /** Spawn to the first 200 from the app through Pillion. */
  first200Ms: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function handshake(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function get(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Polls every 2 ms until `probe` passes, for at most 20 s; the time it passed at. */
async function until(probe: () => Promise<boolean>): Promise<number> {
  const end = performance.now() + 20_000;
  while (performance.now() < end) {
    if (await probe()) return performance.now();
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('pillion did not come up within 20 s');
}

/** One start of Pillion in front of the fixture app; Pillion is stopped before it returns. */
export async function startupOnce(
  stateDir: string,
  env: NodeJS.ProcessEnv = {},
  bin = BIN,
): Promise<StartupRun> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(
    process.execPath,
    [
      bin,
      'run',
      '--admin',
      '127.0.0.1:0',
      '--listen',
      `127.0.0.1:${port}`,
      '--',
      process.execPath,
      APP,
    ],
    { env: { ...process.env, PILLION_STATE_DIR: stateDir, ...env }, stdio: 'ignore' },
  );
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    const accepted = await until(() => handshake(port));
    const ok = await until(async () => (await get(port)) === 200);
    return { acceptMs: accepted - t0, first200Ms: ok - t0 };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

/**
 * `runs` starts after one warm-up start (which also makes the certificate); with `cold`, each
 * with a compile cache of its own, empty.
 */
export async function startupRuns(runs: number, cold = false, bin = BIN): Promise<StartupRun[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'pillion-bench-'));
  try {
    await startupOnce(stateDir, {}, bin);
    const out: StartupRun[] = [];
    for (let i = 0; i < runs; i++) {
      const cache = join(stateDir, `compile-cache-${i}`);
      out.push(await startupOnce(stateDir, cold ? { NODE_COMPILE_CACHE: cache } : {}, bin));
    }
    return out;
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
