// B4 figures: Debian's slowhttptest (slow headers, slow body, range, slow read) against the
// real CLI (bin/pillion.js) with its default limits, in front of the fixture app, while a
// legitimate probe sends 10 requests a second over fresh TLS connections. Prints, per mode:
// probe success and p99, when the last slow connection was closed against the bound (the
// mode's timeout + 1 s), and Pillion's fds before, at peak and after, with how long they took
// to come back to baseline + 10 once slowhttptest was gone (the row allows 30 s). Closing is
// timed from the second slowhttptest had its last connection open (its `-g` CSV: connected +
// closed stops rising) to the last moment Pillion's fds (/proc/PID/fd, every 100 ms) were
// above the baseline + 10; slowhttptest's own view (the second its connected count reached 0)
// is printed beside it. For slow bodies, Pillion's access lines give each connection's time to
// its 408 (`max_408_ms`). Each line ends with `holds`: the row's figures, judged; the last line
// is the load average before and after.
// Run: npm run bench:slow-clients -- [seconds=120] [connections=2000] [interval=10]
// (the row's figures; `-- 30 500 2` is a quick look; BENCH_MODES=-B,-X picks modes).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { DEFAULT_LIMITS } from '../src/ingress/limits.ts';
import { APP_CMD, alive, startPillion, tempDir } from '../test/e2e/harness.ts';
import { fdCount } from '../test/edge/fd-flood.ts';
import { loadAverage } from './lib/meta.ts';

const seconds = Number(process.argv[2] ?? 120);
const conns = Number(process.argv[3] ?? 2000);
const interval = Number(process.argv[4] ?? 10);
const RATE = 200;
/** BENCH_MODES=-H,-B runs only those modes. */
const only = process.env.BENCH_MODES?.split(',');
const FD_MARGIN = 10;
const FD_BACK_MS = 30_000;
const loadBefore = loadAverage();

const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], { bin: true });
const port = await p.port();
await p.ready();
const pid = p.proc.pid ?? 0;
const fds = (): number => fdCount(pid);
const url = `https://127.0.0.1:${port}/`;
const limits = DEFAULT_LIMITS;

/** Why probes failed, a few of each reason. */
const probeErrors = new Map<string, number>();
const failed = (why: string): undefined => {
  probeErrors.set(why, (probeErrors.get(why) ?? 0) + 1);
  return undefined;
};

function probe(): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let status = 0;
    let settled = false;
    const end = (why?: string): void => {
      if (settled) return;
      settled = true;
      resolve(why === undefined ? performance.now() - t0 : failed(why));
    };
    const req = request(url, { rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => {
        status = res.statusCode ?? 0;
      });
      res.on('close', () => end(status === 200 ? undefined : `status ${status}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => end(e.code ?? e.message));
    req.on('close', () => {
      if (status !== 200) end('closed');
    });
    req.end();
  });
}

/** Pillion's `connection rejected` counts by reason, from its last line for each. */
function rejections(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of p.lines) {
    if (l.msg === 'connection rejected') out[String(l.reason)] = Number(l.count);
  }
  return out;
}

/**
 * From slowhttptest's CSV (a row a second: Seconds,Closed,Pending,Connected,…): the second
 * its last connection was open (connected + closed at its maximum) and the first second after
 * that with none connected.
 */
function csvTimes(file: string): { openS: number; closedS: number } {
  let rows: number[][] = [];
  try {
    rows = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',').map(Number));
  } catch {
    return { openS: Number.NaN, closedS: Number.NaN };
  }
  const opened = rows.map((r) => (r[1] ?? 0) + (r[3] ?? 0));
  const most = Math.max(...opened);
  const at = rows.findIndex((_, i) => opened[i] === most);
  const openS = rows[at]?.[0] ?? Number.NaN;
  const closedS = rows.find((r, i) => i > at && r[3] === 0)?.[0] ?? Number.NaN;
  return { openS, closedS };
}

/** `timeoutMs`: the limit that should close this mode's slow connections. */
async function run(
  mode: string,
  extra: string[],
  timeoutMs: number,
  by: string,
  path = '/',
): Promise<void> {
  if (only && !only.includes(mode)) return;
  // The previous mode's connections are gone, and so are pooled app connections (4 s idle).
  await new Promise((r) => setTimeout(r, 5000));
  const base = fds();
  const csv = `${tempDir()}/slow`;
  const linesBefore = p.lines.length;
  const args = [
    mode,
    '-c',
    String(conns),
    '-r',
    String(RATE),
    '-i',
    String(interval),
    '-l',
    String(seconds),
    '-u',
    `${url}${path.slice(1)}`,
    '-p',
    '3',
    '-g',
    '-o',
    csv,
    ...extra,
  ];
  const child = spawn('slowhttptest', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  // slowhttptest prints its exit status but, run as a child here, does not always exit after.
  const ended = setInterval(() => {
    if (/Exit status/.test(out)) child.kill('SIGKILL');
  }, 200);
  const lat: number[] = [];
  let fail = 0;
  let peak = base;
  const t0 = Date.now();
  const until = t0 + seconds * 1000;
  // The peak is reached about when the last slow connection opened.
  let lastHigh = t0;
  let peakAt = t0;
  const sampler = setInterval(() => {
    const n = fds();
    if (n > peak) {
      peak = n;
      peakAt = Date.now();
    }
    if (n > base + FD_MARGIN) lastHigh = Date.now();
  }, 100);
  const pending: Promise<void>[] = [];
  probeErrors.clear();
  const step = (what: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${mode} ${what}\n`);
  };
  step('started');
  // Probing stops at the length asked, or earlier when slowhttptest is done (all closed).
  while (Date.now() < until && child.exitCode === null && child.signalCode === null) {
    pending.push(
      probe().then((ms) => {
        if (ms === undefined) fail++;
        else lat.push(ms);
      }),
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  step('probing ended');
  await Promise.all(pending);
  // slowhttptest may outlive -l while it closes its sockets: bounded wait, then stop it.
  // It may have exited already, while the probes finished.
  const gone = child.exitCode !== null || child.signalCode !== null;
  const done = gone ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await done;
  clearInterval(ended);
  clearTimeout(killer);
  step('slowhttptest exited');
  // From slowhttptest's exit: how long until Pillion's fds are back at baseline + 10.
  const exitedAt = Date.now();
  let settled = fds();
  while (settled > base + FD_MARGIN && Date.now() - exitedAt < FD_BACK_MS) {
    await new Promise((r) => setTimeout(r, 100));
    settled = fds();
  }
  const backMs = settled <= base + FD_MARGIN ? Date.now() - exitedAt : Number.NaN;
  clearInterval(sampler);
  lat.sort((a, b) => a - b);
  const p99 = lat[Math.floor(lat.length * 0.99)] ?? Number.NaN;
  const plain = out.replaceAll(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  const exit = /Exit status:\s*(.*)/.exec(plain)?.[1]?.trim();
  const { openS, closedS } = csvTimes(`${csv}.csv`);
  const closedAfterS = Number(((lastHigh - t0) / 1000 - openS).toFixed(1));
  const timedOut = p.lines
    .slice(linesBefore)
    .filter((l) => l.source === 'access' && l.status === 408 && l.path === path)
    .map((l) => Number(l.duration_ms));
  const boundS = timeoutMs / 1000 + 1;
  const success = lat.length / (lat.length + fail);
  console.log(
    JSON.stringify({
      mode,
      probes: lat.length + fail,
      success,
      probe_errors: Object.fromEntries(probeErrors),
      p99_ms: Math.round(p99),
      fds_peak_at_s: Number(((peakAt - t0) / 1000).toFixed(1)),
      last_open_at_s: openS,
      slow_closed_after_s: closedAfterS,
      slowhttptest_saw_all_closed_after_s: closedS - openS,
      answered_408: timedOut.length,
      max_408_ms: timedOut.length ? Math.round(Math.max(...timedOut)) : undefined,
      bound_s: boundS,
      bound_by: by,
      fds_before: base,
      fds_peak: peak,
      fds_after: settled,
      fds_back_after_s: Number((backMs / 1000).toFixed(1)),
      slowhttptest: exit,
      rejections: rejections(),
      pillion_alive: alive(pid),
      load: loadAverage(),
      holds: {
        probe_all_ok: success === 1,
        probe_p99_le_1s: p99 <= 1000,
        closed_within_bound:
          closedAfterS <= boundS && (!timedOut.length || Math.max(...timedOut) <= boundS * 1000),
        fds_back_within_30s: !Number.isNaN(backMs),
      },
    }),
  );
}

const L = limits;
await run('-H', [], L.headersTimeoutMs, 'headers_timeout');
// The app reads the whole body before it answers, as an upload handler does.
await run('-B', ['-s', '65536'], L.bodyIdleTimeoutMs, 'body_idle_timeout', '/upload');
await run('-R', ['-a', '5', '-b', '2000'], L.keepAliveTimeoutMs, 'keep_alive_timeout');
await run(
  '-X',
  ['-k', '3', '-n', '2', '-w', '10', '-y', '20', '-z', '8'],
  L.upstreamTimeoutMs,
  'upstream_timeout',
);
p.proc.kill('SIGTERM');
await p.exited;
console.log(JSON.stringify({ load_before: loadBefore, load_after: loadAverage() }));
