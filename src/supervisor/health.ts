import { spawn } from 'node:child_process';
import { connect } from 'node:net';

/** Where the app accepts connections. */
export interface Upstream {
  host: string;
  port: number;
}

/**
 * One health check. `tcp`: the app's port accepts a connection. `http`: GET `path` answers
 * `status` (any 2xx/3xx when absent). `exec`: the command (no shell; argv as given) exits 0.
 */
export type Probe =
  | { kind: 'tcp' }
  | { kind: 'http'; path: string; status?: number }
  | { kind: 'exec'; argv: string[] };

/** Runs one check against the app; true when it passed within `timeoutMs`. Never throws. */
export function runProbe(
  probe: Probe,
  up: Upstream,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<boolean> {
  switch (probe.kind) {
    case 'tcp':
      return tcpProbe(up, timeoutMs);
    case 'http':
      return httpProbe(up, probe.path, probe.status, timeoutMs);
    case 'exec':
      return execProbe(probe.argv, up, timeoutMs, env);
  }
}

function tcpProbe(up: Upstream, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: up.host, port: up.port, timeout: timeoutMs });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
  });
}

function httpProbe(
  up: Upstream,
  path: string,
  status: number | undefined,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    // An ESM import of node:http loads Node's bundled undici (~50 ms of a start): taken here.
    const req = process.getBuiltinModule('node:http').request({
      host: up.host,
      port: up.port,
      path,
      agent: false,
      timeout: timeoutMs,
      headers: { 'user-agent': 'pillion-probe', connection: 'close' },
    });
    req.once('response', (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      resolve(status === undefined ? code >= 200 && code < 400 : code === status);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

function execProbe(
  argv: string[],
  up: Upstream,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: 'ignore',
      env: { ...env, PILLION_APP_HOST: up.host, PILLION_APP_PORT: String(up.port) },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}
