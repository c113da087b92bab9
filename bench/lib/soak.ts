// R1: a soak of the real CLI. Pillion (bin/pillion.js) in front of the WebSocket echo app
// gets an open-loop mix at `rate` requests a second: HTTP/1.1 GETs (keep-alive), HTTP/2 GETs
// (one session), WebSocket messages (a few sockets), and 10% 16 KiB POSTs, half on each
// protocol. Every 10 s it samples Pillion's /proc (VmRSS, open fds) and its event-loop delay
// (bench/lib/eld-probe.mjs, loaded into Pillion). Bounded in time and in requests in flight.
import { readFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { fdCount, rssKib, startPillion, tempDir } from '../../test/e2e/harness.ts';

const WS_APP = fileURLToPath(new URL('../../test/fixtures/ws-echo-app.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('./eld-probe.mjs', import.meta.url));
const POST_BODY = Buffer.alloc(16 * 1024, 0x70);
/** Requests in flight at most: past it a tick's sends are counted as shed, not queued. */
const MAX_IN_FLIGHT = 2000;

export interface SoakOptions {
  durationS: number;
  rate: number;
  sampleS: number;
  /** Samples before this are warm-up, left out of the RSS fit. */
  warmupS: number;
  log?: (line: Record<string, unknown>) => void;
}

export interface Sample {
  t_s: number;
  rss_mib: number;
  fds: number;
  sent: number;
  errors: number;
}

export interface SoakResult {
  sent: number;
  ok: number;
  errors: number;
  shed: number;
  errorKinds: Record<string, number>;
  achievedRate: number;
  samples: Sample[];
  baselineFds: number;
  endFds: number;
  rssFirstMiB: number;
  rssFitSlopeMiBPerMin: number;
  rssGrowthPct: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  /** Pillion's connection events by reason (its `connection events` line at stop). */
  connectionEvents: Record<string, number>;
  /** Pillion's warn and error lines, by message. */
  warnings: Record<string, number>;
}

const rssMiB = (pid: number): number => Math.round(rssKib(pid) / 102.4) / 10;

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const dir = tempDir();
  const eldFile = join(dir, 'eld.jsonl');
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', process.execPath, WS_APP], {
    bin: true,
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${PROBE}`.trim(),
      SOAK_ELD_FILE: eldFile,
      SOAK_ELD_MS: String(o.sampleS * 1000),
    },
  });
  let result: SoakResult;
  try {
    const port = await p.port();
    await p.ready();
    const pid = p.proc.pid as number;
    const baselineFds = fdCount(pid);
    // FIFO: every pooled socket keeps being used, so none sits idle into Pillion's keep-alive
    // close (5 s) and meets the race of a request written as the server closes (RFC 9112
    // §9.3.1; Node's agent does not retry it). Seen as ECONNRESET with LIFO at 200 req/s.
    const agent = new Agent({
      keepAlive: true,
      rejectUnauthorized: false,
      maxSockets: 32,
      scheduling: 'fifo',
    });
    // Sessions of at most 90 streams in flight: Pillion allows 100 (max_concurrent_streams)
    // and refuses past it, and Node's client does not queue; more sessions when the load needs.
    const sessions: { s: ReturnType<typeof h2connect>; open: number }[] = [];
    const session = (): { s: ReturnType<typeof h2connect>; open: number } => {
      let x = sessions.find((c) => c.open < 90 && !c.s.closed && !c.s.destroyed);
      if (!x) {
        const s = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
        s.on('error', () => {});
        x = { s, open: 0 };
        sessions.push(x);
      }
      return x;
    };
    const sockets = await Promise.all(
      Array.from(
        { length: 4 },
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { rejectUnauthorized: false });
            ws.once('open', () => resolve(ws));
            ws.once('error', reject);
          }),
      ),
    );
    // Each socket echoes in order: a sent message is answered by the next message back.
    const wsWaiting = sockets.map(() => [] as ((ok: boolean) => void)[]);
    sockets.forEach((ws, i) => {
      ws.on('message', () => wsWaiting[i]?.shift()?.(true));
      ws.on('close', () => {
        for (const w of wsWaiting[i]?.splice(0) ?? []) w(false);
      });
    });
    let sent = 0;
    let ok = 0;
    let errors = 0;
    let shed = 0;
    let inFlight = 0;
    const errorKinds: Record<string, number> = {};
    const fail = (kind: string): void => {
      errors++;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    };
    const h1 = (post: boolean): Promise<void> =>
      new Promise((resolve) => {
        const req = request(
          { host: '127.0.0.1', port, path: '/', method: post ? 'POST' : 'GET', agent },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode === 200) ok++;
              else fail(`h1 ${res.statusCode}`);
              resolve();
            });
            res.on('error', () => {
              fail('h1 response error');
              resolve();
            });
          },
        );
        req.on('error', (e) => {
          fail(`h1 ${(e as NodeJS.ErrnoException).code ?? e.message}`);
          resolve();
        });
        req.end(post ? POST_BODY : undefined);
      });
    const h2 = (post: boolean): Promise<void> =>
      new Promise((resolve) => {
        const c = session();
        c.open++;
        const s = c.s.request({ ':method': post ? 'POST' : 'GET', ':path': '/' });
        s.once('close', () => {
          c.open--;
        });
        let status = 0;
        s.on('response', (h) => {
          status = Number(h[':status']);
        });
        s.resume();
        s.on('end', () => {
          if (status === 200) ok++;
          else fail(`h2 ${status}`);
          resolve();
        });
        s.on('error', (e) => {
          fail(`h2 ${(e as NodeJS.ErrnoException).code ?? e.message}`);
          resolve();
        });
        s.end(post ? POST_BODY : undefined);
      });
    const wsMessage = (i: number): Promise<void> =>
      new Promise((resolve) => {
        const ws = sockets[i % sockets.length] as WebSocket;
        if (ws.readyState !== WebSocket.OPEN) {
          fail('ws closed');
          resolve();
          return;
        }
        wsWaiting[i % sockets.length]?.push((good) => {
          if (good) ok++;
          else fail('ws closed');
          resolve();
        });
        ws.send(`m${i}`);
      });
    const started = Date.now();
    const end = started + o.durationS * 1000;
    const samples: Sample[] = [];
    const sample = (): void => {
      const s = {
        t_s: Math.round((Date.now() - started) / 1000),
        rss_mib: rssMiB(pid),
        fds: fdCount(pid),
        sent,
        errors,
      };
      samples.push(s);
      o.log?.({ sample: s, in_flight: inFlight, shed });
    };
    const sampler = setInterval(sample, o.sampleS * 1000);
    // Open loop: every 10 ms, the requests due since the start, as a mix.
    const tickMs = 10;
    await new Promise<void>((resolve) => {
      const tick = setInterval(() => {
        const now = Date.now();
        if (now >= end) {
          clearInterval(tick);
          resolve();
          return;
        }
        const due = Math.floor(((now - started) / 1000) * o.rate) - sent - shed;
        for (let k = 0; k < due; k++) {
          if (inFlight >= MAX_IN_FLIGHT) {
            shed++;
            continue;
          }
          const i = sent++;
          inFlight++;
          const kind = i % 10;
          // 0: POST h1, 5: POST h2, 1-2 and 6-7: GET h1 / h2, 3-4, 8-9: GET h1 / h2 / ws.
          const run =
            kind === 0
              ? h1(true)
              : kind === 5
                ? h2(true)
                : kind === 9 || kind === 4
                  ? wsMessage(i)
                  : kind < 5
                    ? h1(false)
                    : h2(false);
          void run.finally(() => {
            inFlight--;
          });
        }
      }, tickMs);
    });
    // Bounded wait for the last requests.
    for (let i = 0; i < 300 && inFlight > 0; i++) await new Promise((r) => setTimeout(r, 100));
    clearInterval(sampler);
    sample();
    for (const ws of sockets) ws.close(1000);
    agent.destroy();
    for (const c of sessions) c.s.close();
    // Back to baseline once the clients are gone (bounded: 30 s).
    let endFds = fdCount(pid);
    for (let i = 0; i < 150 && endFds > baselineFds + 5; i++) {
      await new Promise((r) => setTimeout(r, 200));
      endFds = fdCount(pid);
    }
    const fit = samples.filter((s) => s.t_s >= o.warmupS);
    const slopeMiBPerS = slope(
      fit.map((s) => s.t_s),
      fit.map((s) => s.rss_mib),
    );
    const first = fit[0]?.rss_mib ?? samples[0]?.rss_mib ?? 0;
    const spanS = (fit.at(-1)?.t_s ?? 0) - (fit[0]?.t_s ?? 0);
    let eld: { p99_ms: number; max_ms: number }[] = [];
    try {
      eld = readFileSync(eldFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    } catch {
      eld = [];
    }
    result = {
      sent,
      ok,
      errors,
      shed,
      errorKinds,
      achievedRate: Math.round(sent / o.durationS),
      samples,
      baselineFds,
      endFds,
      rssFirstMiB: first,
      rssFitSlopeMiBPerMin: Math.round(slopeMiBPerS * 60 * 100) / 100,
      rssGrowthPct: first > 0 ? Math.round(((slopeMiBPerS * spanS) / first) * 1000) / 10 : 0,
      eventLoopP99Ms: Math.round(Math.max(0, ...eld.map((e) => e.p99_ms)) * 10) / 10,
      eventLoopMaxMs: Math.round(Math.max(0, ...eld.map((e) => e.max_ms)) * 10) / 10,
      connectionEvents: {},
      warnings: {},
    };
  } finally {
    p.proc.kill('SIGTERM');
    await p.exited;
  }
  return { ...result, ...said(p.lines) };
}

/** What Pillion said about connections and problems during the soak. */
function said(lines: { msg: string; level: string; source: string; counts?: unknown }[]) {
  const warnings: Record<string, number> = {};
  for (const l of lines) {
    if ((l.level === 'warn' || l.level === 'error') && l.source !== 'access' && l.source !== 'app')
      warnings[l.msg] = (warnings[l.msg] ?? 0) + 1;
  }
  const events = lines.find((l) => l.msg === 'connection events')?.counts;
  return { warnings, connectionEvents: (events ?? {}) as Record<string, number> };
}
