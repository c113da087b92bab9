// Starts the real CLI as a child process and reads its JSON log lines, for end-to-end tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as h2Connect } from 'node:http2';
import { Agent, request } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** The published entry point, as `npx pillion` runs it. */
export const BIN = fileURLToPath(new URL('../../bin/pillion.js', import.meta.url));
export const APP = fileURLToPath(new URL('../fixtures/app.ts', import.meta.url));
/** The fixture app's command: the same Node that runs the tests. */
export const APP_CMD = [process.execPath, APP];

export type LogLine = Record<string, unknown> & { msg: string; source: string; level: string };

export interface Pillion {
  proc: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  /**
   * Resolves with the first log line matching, waiting for it if needed; rejects, naming
   * `what`, when Pillion exits first or after `timeoutMs` (default 60 s).
   */
  waitForLog(match: (l: LogLine) => boolean, what?: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with Pillion's exit code (128+N if killed by signal N). */
  exited: Promise<number>;
  /** The HTTPS port, once the ingress listens. */
  port(): Promise<number>;
  /** Resolves once the app is ready. */
  ready(): Promise<LogLine>;
  /** Kills Pillion if it is still running (for cleanup). */
  kill(): void;
  /** The admin listener's address (`127.0.0.1:PORT`) and token, once it listens. */
  admin(): Promise<{ host: string; port: number; token: string }>;
}

/** How long waitForLog waits by default: a clear failure instead of a test that hangs. */
export const WAIT_FOR_LOG_MS = 60_000;

/**
 * A TCP port free on loopback now, taken from the OS (port 0) and closed again, for an address
 * Pillion or the app is to listen on. Another process may take it in between: where a test
 * must know nothing else listens there, hold the port instead (test/k8s/kubelet.ts).
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createNetServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/** Temporary directories to remove at process exit (one exit listener for them all). */
const tempDirs: string[] = [];

/** A temporary directory removed at process exit. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-test-'));
  if (tempDirs.length === 0)
    process.on('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  tempDirs.push(dir);
  return dir;
}

/** A pillion.yaml of `text` (or these lines) in a fresh temporary directory: its path. */
export function configFile(text: string | string[]): string {
  const file = join(tempDir(), 'pillion.yaml');
  writeFileSync(file, Array.isArray(text) ? text.join('\n') : text);
  return file;
}

/**
 * Starts `pillion <args>` with a private state dir; listens on a free loopback port unless told.
 * `wrap` is a command that execs the rest, such as `['prlimit', '--nofile=4096:4096', '--']`,
 * so the PID is still Pillion's. `bin` starts `bin/pillion.js` rather than `src/main.ts`.
 */
export function startPillion(
  args: string[],
  opts: {
    env?: NodeJS.ProcessEnv;
    stateDir?: string;
    wrap?: string[];
    bin?: boolean;
    /** A `pillion` executable to run as it is (an installed package's bin link). */
    exe?: string;
  } = {},
): Pillion {
  const stateDir = opts.stateDir ?? tempDir();
  const entry = opts.bin ? BIN : MAIN;
  // A test's Pillion never takes the default admin port 14000 (a developer's may hold it).
  // Only for a run that can start: a usage error echoes the flags it was given.
  const starts = ['--', '--app-port', '--config'].some((a) => args.includes(a));
  const argv =
    args[0] === 'run' && starts && !args.some((a) => a === '--admin' || a.startsWith('--admin='))
      ? ['run', '--admin', '127.0.0.1:0', ...args.slice(1)]
      : args;
  const run = opts.exe ? [opts.exe] : [process.execPath, entry];
  const [cmd, ...pre] = [...(opts.wrap ?? []), ...run, ...argv];
  const proc = spawn(cmd, pre, {
    env: { ...process.env, PILLION_STATE_DIR: stateDir, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  let done = false;
  const watchers = new Set<() => void>();
  let err = '';
  proc.stderr?.on('data', (c) => {
    err += c;
  });
  const rl = createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> });
  rl.on('line', (text) => {
    let parsed: LogLine;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { msg: text, source: 'non-json', level: 'unknown' };
    }
    lines.push(parsed);
    for (const w of [...watchers]) w();
  });
  const exited = new Promise<number>((resolve) => {
    // 'close' comes after stdout has ended, so readline has delivered the last line.
    proc.once('close', (code, signal) => {
      done = true;
      for (const w of [...watchers]) w();
      resolve(code ?? 128 + (signal ? (signalNumbers[signal] ?? 0) : 0));
    });
  });
  const said = (): string =>
    `stderr: ${err}\nlast lines: ${lines
      .slice(-20)
      .map((l) => JSON.stringify(l))
      .join('\n')}`;
  const waitForLog = (
    match: (l: LogLine) => boolean,
    what = 'log line',
    timeoutMs = WAIT_FOR_LOG_MS,
  ): Promise<LogLine> =>
    new Promise((resolve, reject) => {
      const end = (e?: Error, hit?: LogLine): void => {
        watchers.delete(check);
        clearTimeout(timer);
        if (e) reject(e);
        else resolve(hit as LogLine);
      };
      const check = (): void => {
        const hit = lines.find(match);
        if (hit) end(undefined, hit);
        else if (done) end(new Error(`pillion exited before ${what}; ${said()}`));
      };
      const timer = setTimeout(
        () => end(new Error(`no ${what} within ${timeoutMs} ms; ${said()}`)),
        timeoutMs,
      );
      watchers.add(check);
      check();
    });
  return {
    proc,
    lines,
    stderr: () => err,
    waitForLog,
    exited,
    port: async () =>
      Number((await waitForLog((l) => l.msg === 'ingress listening', 'ingress listening')).port),
    ready: () => waitForLog((l) => l.msg === 'app ready', 'app ready'),
    kill: () => {
      if (!done) proc.kill('SIGKILL');
    },
    admin: async () => {
      const l = await waitForLog(
        (x) => x.msg === 'admin listening' && 'admin' in x,
        'admin listening',
      );
      const addr = String(l.admin);
      const i = addr.lastIndexOf(':');
      const token = readFileSync(String(l.token_file), 'utf8').trim();
      return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)), token };
    },
  };
}

const signalNumbers: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

/** True while a process with this PID exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Open fds of a process, or -1 once it is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** A process's resident memory (VmRSS of /proc/PID/status) in KiB, or 0 once it is gone. */
export function rssKib(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Lines of the fixture app's event file. */
export function readEvents(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

/** Polls `check` every 20 ms until it returns true or `ms` passes. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTPS/1.1 request on a fresh connection (or on `agent`'s), certificate not verified. An
 * error before any response byte on a connection the agent had already used carries
 * `staleKeepAlive: true` (see `staleKeepAlive`).
 */
export async function h1Request(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; agent?: Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers,
        rejectUnauthorized: false,
        agent: opts.agent ?? false,
      },
      (res) => {
        responded = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', (e) => {
      const err = e as Error & { staleKeepAlive?: boolean };
      if (req.reusedSocket && !responded) err.staleKeepAlive = true;
      reject(err);
    });
    req.end(opts.body);
  });
}

/**
 * True for an h1Request failure on a reused keep-alive connection before any response byte: the
 * server closed an idle connection as the request went out (its listener moved, or its idle
 * timeout), which a client may send again on a new connection if the request is idempotent
 * (RFC 9112 §9.3.1), as browsers and undici do.
 */
export function staleKeepAlive(e: unknown): boolean {
  return (e as { staleKeepAlive?: boolean } | undefined)?.staleKeepAlive === true;
}

/** One HTTP/2 request over a session the caller owns. */
export function h2Request(
  session: ClientHttp2Session,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({
      ':path': path,
      ':method': opts.method ?? 'GET',
      ...opts.headers,
    });
    let status = 0;
    let headers: Record<string, string | string[] | undefined> = {};
    let body = '';
    req.setEncoding('utf8');
    req.on('response', (h) => {
      status = Number(h[':status']);
      headers = h as typeof headers;
    });
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => resolve({ status, headers, body }));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * `pillion run` (the bin) in front of the fixture app on a free port, `extra` flags before the
 * command, the app's events in a fresh file (`APP_EVENTS`; with `APP_EVENTS_ANSWERS` unless
 * `env` says otherwise); resolves once the app is ready.
 */
export async function startAppBehindPillion(
  extra: string[] = [],
  env: NodeJS.ProcessEnv = { APP_EVENTS_ANSWERS: '1' },
): Promise<{ p: Pillion; port: number; events: string }> {
  const events = join(tempDir(), 'events');
  const appPort = await freePort();
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--app-port',
      String(appPort),
      ...extra,
      '--',
      process.execPath,
      APP,
      String(appPort),
    ],
    { env: { APP_EVENTS: events, ...env }, bin: true },
  );
  const port = await p.port();
  await p.ready();
  return { p, port, events };
}

/** What became of one request of a paced load. */
export interface PacedOutcome {
  /** Its `X-Request-Id`, which the app records (test/fixtures/app.ts). */
  id: string;
  method: 'GET' | 'POST';
  protocol: 'h1' | 'h2';
  status: number;
  /** Answered 200 (a POST: with its own body echoed). */
  ok: boolean;
  error?: string;
  /** When it was sent and when its outcome came (ms since the epoch, sub-ms). */
  start: number;
  end: number;
}

/** An open-loop load on a schedule (see startPacedLoad). */
export interface PacedLoad {
  /** Requests sent so far (each at its scheduled time, or as soon after as the loop ran). */
  sent(): number;
  /** Requests answered 200 so far. */
  answered(): number;
  /** Requests a moved listener's old address refused, sent again to the new one. */
  followed(): number;
  /** GETs sent again once after a pooled keep-alive connection was closed as they went out. */
  resent(): number;
  /** Every request that failed: its protocol, status or error. */
  readonly failures: string[];
  /** Every request settled so far, in the order the outcomes came. */
  readonly outcomes: PacedOutcome[];
  /** Seconds since the load began. */
  seconds(): number;
  /** Sends no more; resolves once every request sent has its answer (or failed after 30 s). */
  stop(): Promise<void>;
}

/**
 * An open-loop load: request i is sent at t0 + i × `intervalMs` whether or not the earlier ones
 * were answered (so a stall shows as requests waiting, not as a slower client), at most `max`
 * requests and for at most `maxMs`. Even requests go over HTTPS/1.1 (one keep-alive pool), odd
 * ones over HTTP/2 (one session per address, each closed only at the end: closing one with
 * streams still queued in the client would fail those). `port()` is read at each request, so
 * the load follows a listener that moved. One h1 connection and one h2 session opened at the
 * start carry every tenth request of each to the end, on the first address: connections
 * already open must keep working. `tls` goes to every connection (a client certificate).
 * Each request carries its own `X-Request-Id`; with `posts`, requests 2 and 3 of every 4 are
 * POSTs to `/echo` whose answer must be their own body.
 */
export function startPacedLoad(opts: {
  port: () => number;
  intervalMs: number;
  max: number;
  maxMs?: number;
  path?: string;
  posts?: boolean;
  /** HTTPS/1.1 connections at most (default 16): beyond them requests queue in the client. */
  sockets?: number;
  tls?: { cert?: string | Buffer; key?: string | Buffer };
}): PacedLoad {
  const tls = { rejectUnauthorized: false, ...opts.tls };
  const pool = new Agent({ keepAlive: true, maxSockets: opts.sockets ?? 16, ...tls });
  const keptAgent = new Agent({ keepAlive: true, maxSockets: 1, ...tls });
  const keptPort = opts.port();
  const failures: string[] = [];
  const sessions = new Map<number, ClientHttp2Session>();
  const session = (port: number): ClientHttp2Session => {
    let s = sessions.get(port);
    if (!s || s.closed || s.destroyed) {
      s = h2Connect(`https://127.0.0.1:${port}`, tls);
      // A refused connect fails the session's requests, each judged where it was sent.
      s.on('error', (e) => {
        if (!refusedConnect(e)) failures.push(`h2 session ${port}: ${e}`);
      });
      sessions.set(port, s);
    }
    return s;
  };
  const kept = session(keptPort);
  const path = opts.path ?? '/';
  const outcomes: PacedOutcome[] = [];
  const run = randomUUID().slice(0, 8);
  const inflight = new Set<Promise<void>>();
  const t0 = Date.now();
  const until = t0 + (opts.maxMs ?? 300_000);
  let sent = 0;
  let answered = 0;
  let followed = 0;
  let resent = 0;
  let stopped = false;
  const fire = (i: number, moved = false): void => {
    const h2 = i % 2 === 1;
    const old = i % 20 < 2;
    const port = old ? keptPort : opts.port();
    const id = `${run}-${i}`;
    const post = opts.posts === true && i % 4 >= 2;
    const req = {
      method: post ? 'POST' : 'GET',
      headers: { 'x-request-id': id },
      body: post ? `body-${id}` : undefined,
    } as const;
    const start = performance.timeOrigin + performance.now();
    const settle = (status: number, ok: boolean, error?: string): void => {
      const end = performance.timeOrigin + performance.now();
      outcomes.push({
        id,
        method: req.method,
        protocol: h2 ? 'h2' : 'h1',
        status,
        ok,
        error,
        start,
        end,
      });
    };
    const at = `${h2 ? 'h2' : 'h1'}${old ? ' kept' : ''} ${req.method} #${i} to ${port} at ${Date.now() - t0} ms`;
    const where = post ? '/echo' : path;
    const reply = h2
      ? h2Request(old ? kept : session(port), where, req)
      : h1Request(port, where, { ...req, agent: old ? keptAgent : pool });
    const done: Promise<void> = reply.then(
      (r) => {
        const ok = r.status === 200 && (!post || r.body === req.body);
        settle(r.status, ok, ok ? undefined : r.body.slice(0, 200));
        if (ok) answered++;
        else failures.push(`${at}: status ${r.status}${r.status === 200 ? ', not its body' : ''}`);
      },
      async (e) => {
        // A new connection refused by a listener that has just moved: the request was never
        // sent, so it goes again once the new address is known, as a client following the move
        // would. Once only, and never on a connection that stays (the kept ones). A GET that met
        // a pooled connection closed as idle goes again too, once (RFC 9112 §9.3.1).
        if (!old && !moved && !h2 && !post && staleKeepAlive(e)) {
          resent++;
          fire(i, true);
          return;
        }
        if (!old && !moved && refusedConnect(e)) {
          const end = Date.now() + 30_000;
          while (opts.port() === port && Date.now() < end) await sleep(5);
          if (opts.port() !== port) {
            followed++;
            fire(i, true);
            return;
          }
        }
        settle(0, false, String(e));
        failures.push(`${at}: ${e}`);
      },
    );
    inflight.add(done);
    void done.finally(() => inflight.delete(done));
  };
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const now = Date.now();
    const due = Math.min(opts.max, Math.floor((now - t0) / opts.intervalMs) + 1);
    while (!stopped && sent < due && now < until) fire(sent++);
    if (!stopped && sent < opts.max && now < until) timer = setTimeout(tick, 1);
  };
  tick();
  return {
    sent: () => sent,
    answered: () => answered,
    followed: () => followed,
    resent: () => resent,
    failures,
    outcomes,
    seconds: () => (Date.now() - t0) / 1000,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      // A request sent again after a move joins the set while the first ones settle.
      const end = Date.now() + 30_000;
      while (inflight.size > 0 && Date.now() < end) await Promise.race([...inflight, sleep(100)]);
      if (inflight.size > 0)
        failures.push(`${inflight.size} requests unanswered 30 s after the load stopped`);
      for (const s of sessions.values()) s.close();
      pool.destroy();
      keptAgent.destroy();
    },
  };
}

/** True for an error of a connect the peer refused (the request was never sent). */
function refusedConnect(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } } | undefined;
  return err?.code === 'ECONNREFUSED' || err?.cause?.code === 'ECONNREFUSED';
}
