// B4 figures: Debian's slowhttptest (slow headers, slow body, range, slow read) against the
// real ingress with its default limits, in front of a spy app, while a legitimate probe sends
// 10 requests a second over fresh TLS connections. Prints, per mode: probe success and p99, when
// the last slow connection was closed against the bound (timeout + 1 s), and fds
// before, at peak and after (waiting up to 30 s for them to settle). Closing is read on Pillion's
// side: from the fds' peak (the last slow connection open) to the last moment they were above
// the baseline + 10.
// Run: npm run bench:slow-clients -- [seconds=120] [connections=2000] [interval=10]
// (the row's figures; `-- 30 500 2` is a quick look).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { request } from 'node:https';
import { startEdge } from '../test/edge/edge-harness.ts';

const seconds = Number(process.argv[2] ?? 120);
const conns = Number(process.argv[3] ?? 2000);
const interval = Number(process.argv[4] ?? 10);
const RATE = 200;
const fds = (): number => readdirSync('/proc/self/fd').length;

const edge = await startEdge();
const limits = edge.ingress.limits;
const url = `https://127.0.0.1:${edge.port}/`;

function probe(): Promise<number | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let ok = false;
    const req = request(url, { rejectUnauthorized: false, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => {
        ok = res.statusCode === 200;
      });
      res.on('close', () => resolve(ok ? performance.now() - t0 : undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.on('close', () => {
      if (!ok) resolve(undefined);
    });
    req.end();
  });
}

/** `timeoutMs`: the limit that should close this mode's slow connections. */
async function run(mode: string, extra: string[], timeoutMs: number): Promise<void> {
  const base = fds();
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
    url,
    '-p',
    '3',
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
  // Pillion's side of the story: fds sampled every 100 ms until the end of this mode.
  // The peak is reached about when the last slow connection opened.
  let lastHigh = t0;
  let peakAt = t0;
  const sampler = setInterval(() => {
    const n = fds();
    if (n > peak) {
      peak = n;
      peakAt = Date.now();
    }
    if (n > base + 10) lastHigh = Date.now();
  }, 100);
  const pending: Promise<void>[] = [];
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
  step('probes answered');
  // slowhttptest may outlive -l while it closes its sockets: bounded wait, then stop it.
  // It may have exited already, while the probes finished.
  const gone = child.exitCode !== null || child.signalCode !== null;
  const done = gone ? Promise.resolve() : new Promise((r) => child.once('exit', r));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await done;
  clearInterval(ended);
  step('slowhttptest exited');
  clearTimeout(killer);
  let settled = fds();
  for (let i = 0; i < 300 && settled > base + 10; i++) {
    await new Promise((r) => setTimeout(r, 100));
    settled = fds();
  }
  lat.sort((a, b) => a - b);
  const p99 = lat[Math.floor(lat.length * 0.99)] ?? Number.NaN;
  const plain = out.replaceAll(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  const exit = /Exit status:\s*(.*)/.exec(plain)?.[1]?.trim();
  clearInterval(sampler);
  console.log(
    JSON.stringify({
      mode,
      probes: lat.length + fail,
      success: lat.length / (lat.length + fail),
      p99_ms: Math.round(p99),
      // From the last slow connection's opening (the peak) to the last one gone, against the
      // bound: the mode's timeout + 1 s.
      all_open_at_s: Number(((peakAt - t0) / 1000).toFixed(1)),
      slow_closed_after_s: Number(((lastHigh - peakAt) / 1000).toFixed(1)),
      bound_s: timeoutMs / 1000 + 1,
      fds_before: base,
      fds_peak: peak,
      fds_after: settled,
      slowhttptest: exit,
      rejections: edge.ingress.rejections,
    }),
  );
}

await run('-H', [], limits.headersTimeoutMs);
await run('-B', ['-s', '65536'], limits.bodyIdleTimeoutMs);
await run('-R', ['-a', '5', '-b', '2000'], limits.keepAliveTimeoutMs);
await run(
  '-X',
  ['-k', '3', '-n', '2', '-w', '10', '-y', '20', '-z', '8'],
  limits.upstreamTimeoutMs,
);
await edge.stop();
