// B4 figures: Debian's slowhttptest (slow headers, slow body, slow read) against the real
// ingress in front of a spy app, while a legitimate probe sends 10 requests a second over fresh
// TLS connections. Prints success rate, probe p99, and fds before, during and after.
// Run: npm run bench:slow-clients -- [seconds=10] [connections=1000]
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { request } from 'node:https';
import { startEdge } from '../test/edge/edge-harness.ts';

const seconds = Number(process.argv[2] ?? 10);
const conns = Number(process.argv[3] ?? 1000);
const TIMEOUT_MS = 5000;
const fds = (): number => readdirSync('/proc/self/fd').length;

const edge = await startEdge({
  headersTimeoutMs: TIMEOUT_MS,
  bodyIdleTimeoutMs: TIMEOUT_MS,
  maxBodyBytes: 1 << 20,
});
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

async function run(mode: string, extra: string[]): Promise<void> {
  const base = fds();
  const args = [
    mode,
    '-c',
    String(conns),
    '-r',
    '200',
    '-i',
    '2',
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
  const until = Date.now() + seconds * 1000;
  const pending: Promise<void>[] = [];
  const step = (what: string): void => {
    process.stderr.write(`${new Date().toISOString()} ${mode} ${what}\n`);
  };
  step('started');
  while (Date.now() < until) {
    pending.push(
      probe().then((ms) => {
        if (ms === undefined) fail++;
        else lat.push(ms);
      }),
    );
    peak = Math.max(peak, fds());
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
  console.log(
    JSON.stringify({
      mode,
      probes: lat.length + fail,
      success: lat.length / (lat.length + fail),
      p99_ms: Math.round(p99),
      fds_before: base,
      fds_peak: peak,
      fds_after: settled,
      slowhttptest: exit,
      rejections: edge.ingress.rejections,
    }),
  );
}

await run('-H', []);
await run('-B', ['-s', '65536']);
await run('-X', ['-k', '3', '-n', '2', '-w', '10', '-y', '20', '-z', '8']);
await edge.stop();
