import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';

/** Where the app accepts connections. */
export interface Upstream {
  host: string;
  port: number;
}

/**
 * One health check. `tcp`: the app's port accepts a connection. `http`: GET `path` answers
 * `status` (any 2xx/3xx when absent). `exec`: the command (run by /bin/sh) exits 0.
 */
export type Probe =
  | { kind: 'tcp' }
  | { kind: 'http'; path: string; status?: number }
  | { kind: 'exec'; command: string };

/** Parses `tcp`, `http:/path`, `http:/path=204` or `exec:CMD`; undefined if it is none of them. */
export function parseProbe(text: string): Probe | undefined {
  if (text === 'tcp') return { kind: 'tcp' };
  if (text.startsWith('http:')) {
    // The status, when given, is the last `=NNN`; the path may hold `=` itself (a query).
    const m = /^http:(\/\S*?)(?:=(\d{3}))?$/.exec(text);
    if (!m) return undefined;
    return m[2] ? { kind: 'http', path: m[1], status: Number(m[2]) } : { kind: 'http', path: m[1] };
  }
  if (text.startsWith('exec:') && text.length > 5) return { kind: 'exec', command: text.slice(5) };
  return undefined;
}

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
      return execProbe(probe.command, up, timeoutMs, env);
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
    const req = request({
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
  command: string,
  up: Upstream,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: 'ignore',
      env: { ...env, PILLION_APP_HOST: up.host, PILLION_APP_PORT: String(up.port) },
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}
