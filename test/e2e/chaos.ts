// In-process chaos rig: runs a real Sidecar (real TLS listener, real app process on a fixed
// port) so a test can call the supervisor's own restart(), drives bounded GET+POST load over
// HTTP/1.1 and HTTP/2, and reconciles each request's outcome with the app's request log.
import { randomUUID } from 'node:crypto';
import { connect as h2Connect } from 'node:http2';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { resolveRun } from '../../src/cli/run.ts';
import { Logger } from '../../src/core/log.ts';
import { SinkOutput } from '../../src/logs/output.ts';
import { type RunConfig, Sidecar } from '../../src/sidecar.ts';
import {
  APP_CMD,
  eventually,
  freePort,
  type PacedOutcome,
  readEvents,
  tempDir,
} from './harness.ts';

/** What became of one request: the same record as the paced load's. */
export type Outcome = PacedOutcome;

export interface Rig {
  sidecar: Sidecar;
  port: number;
  events: string;
  lines: Record<string, unknown>[];
  exit: Promise<number>;
  /** Asks the sidecar to stop as a SIGTERM would, and waits for it. */
  stop(): Promise<number>;
}

export { freePort } from './harness.ts';

/** Starts a Sidecar in this process with the fixture app on a fixed port. */
export async function startRig(
  lifecycleFlags: Record<string, string | boolean> = {},
  extra: Partial<RunConfig> = {},
): Promise<Rig> {
  const dir = tempDir();
  const events = join(dir, 'events');
  process.env.APP_EVENTS = events;
  const appPort = await freePort();
  const lines: Record<string, unknown>[] = [];
  let partial = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) if (p) lines.push(JSON.parse(p));
      cb();
    },
  });
  const log = new Logger(
    new SinkOutput([{ name: 'stdout', dest: sink, bufferBytes: 1 << 24, whenFull: 'block' }]),
  );
  // The rig's flags go through the same resolve as the CLI's.
  const flags = Object.entries(lifecycleFlags).flatMap(([k, v]) =>
    v === true ? [`--${k}`] : v === false ? [] : [`--${k}`, v],
  );
  const run = [
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
    '--app-port',
    String(appPort),
    '--state-dir',
    dir,
  ];
  run.push('--stop-timeout', '5s', ...flags, '--', ...APP_CMD, String(appPort));
  const cfg: RunConfig = {
    ...(
      resolveRun(run, { ...process.env, PILLION_CONFIG: '' }) as NonNullable<
        ReturnType<typeof resolveRun>
      >
    ).resolved.settings,
    ...extra,
  };
  // The logs concern sets the sinks when it starts: its stdout sink is this collector.
  cfg.logs = { ...cfg.logs, stdoutDest: sink };
  const sidecar = new Sidecar(cfg, log);
  const exit = sidecar.run();
  // With workers, the port is in the pool's `workers listening` line.
  const listenPort = (): number | undefined =>
    sidecar.ingress?.address?.port ??
    (lines.find((l) => l.msg === 'workers listening')?.port as number | undefined);
  await eventually(() => sidecar.isReady() && listenPort() !== undefined, 15_000, 'ready');
  return {
    sidecar,
    port: listenPort() as number,
    events,
    lines,
    exit,
    stop: () => {
      process.emit('SIGTERM', 'SIGTERM');
      return exit;
    },
  };
}

/** One request with a fresh X-Request-Id; never rejects, the outcome says what happened. */
export function one(
  port: number,
  agent: Agent,
  session: ReturnType<typeof h2Connect>,
  method: 'GET' | 'POST',
  protocol: 'h1' | 'h2',
): Promise<Outcome> {
  const id = randomUUID();
  const start = performance.timeOrigin + performance.now();
  const body = method === 'POST' ? `body-${id}` : undefined;
  const path = method === 'POST' ? '/echo' : '/';
  return new Promise((resolve) => {
    const done = (status: number, text: string, error?: string): void => {
      const ok =
        status === 200 && (body === undefined ? text.startsWith('hello from') : text === body);
      const end = performance.timeOrigin + performance.now();
      resolve({
        id,
        method,
        protocol,
        status,
        ok,
        error: error ?? (ok ? undefined : text),
        start,
        end,
      });
    };
    if (protocol === 'h1') {
      const req = request(
        { host: '127.0.0.1', port, method, path, agent, headers: { 'x-request-id': id } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => done(res.statusCode ?? 0, text));
          res.on('error', (e) => done(0, text, e.message));
        },
      );
      req.on('error', (e) => done(0, '', e.message));
      req.end(body);
    } else {
      const req = session.request({ ':method': method, ':path': path, 'x-request-id': id });
      let status = 0;
      let text = '';
      req.setEncoding('utf8');
      req.on('response', (h) => {
        status = Number(h[':status']);
      });
      req.on('data', (c) => {
        text += c;
      });
      req.on('end', () => done(status, text));
      req.on('error', (e) => done(status, text, e.message));
      req.end(body);
    }
  });
}

/**
 * Sends `total` requests (half GET, half POST; alternately HTTP/1.1 and HTTP/2) with
 * `concurrency` in flight, calling `during` alongside; bounded by count, and by `maxMs`.
 */
export async function load(
  port: number,
  total: number,
  concurrency: number,
  maxMs: number,
  progress?: (o: Outcome) => void,
  /** Filled with the index of each request while it is in flight. */
  inflight?: Set<number>,
): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: concurrency });
  const session = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  const outcomes: Outcome[] = [];
  const end = Date.now() + maxMs;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total && Date.now() < end) {
      const i = next++;
      inflight?.add(i);
      const o = await one(
        port,
        agent,
        session,
        i % 2 === 0 ? 'GET' : 'POST',
        i % 4 < 2 ? 'h1' : 'h2',
      );
      inflight?.delete(i);
      outcomes.push(o);
      progress?.(o);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  session.close();
  return outcomes;
}

/** Request ids the app received, with how many times each. */
export function appReceived(events: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const line of readEvents(events)) {
    const m = /^request (\S+) \S+ (\S+)$/.exec(line);
    if (m) seen.set(m[2], (seen.get(m[2]) ?? 0) + 1);
  }
  return seen;
}
