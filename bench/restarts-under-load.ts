// R2 figure: N graceful restarts (Supervisor.restart()) under an open-loop GET+POST load at a
// fixed rate over HTTP/1.1 and HTTP/2, each request reconciled with the app's request log.
// Run: npm run bench:restarts -- [restarts=100] [rps=500] [pause-ms=200]: the pause
// is how long the app serves between two restarts. Bounded: 180 s at most.
import { connect as h2Connect } from 'node:http2';
import { Agent } from 'node:https';
import { appReceived, type Outcome, one, startRig } from '../test/e2e/chaos.ts';

const restarts = Number(process.argv[2] ?? 100);
const rps = Number(process.argv[3] ?? 500);
const pauseMs = Number(process.argv[4] ?? 200);
const rig = await startRig();
const supervisor = rig.sidecar.supervisor;
if (!supervisor) throw new Error('no supervisor');
const agent = new Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 64 });
const session = h2Connect(`https://127.0.0.1:${rig.port}`, { rejectUnauthorized: false });
session.on('error', () => {});

const outcomes: Promise<Outcome & { ms: number }>[] = [];
let stop = false;
const started = performance.now();
const deadline = Date.now() + 180_000;
const driver = (async () => {
  let i = 0;
  while (!stop && Date.now() < deadline) {
    const due = started + (i * 1000) / rps;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    outcomes.push(
      one(rig.port, agent, session, i % 2 === 0 ? 'GET' : 'POST', i % 4 < 2 ? 'h1' : 'h2').then(
        (o) => ({ ...o, ms: performance.now() - t0 }),
      ),
    );
    i++;
  }
})();

let done = 0;
const restartMs: number[] = [];
while (done < restarts && Date.now() < deadline) {
  const t0 = performance.now();
  await supervisor.restart();
  restartMs.push(performance.now() - t0);
  done++;
  await new Promise((r) => setTimeout(r, pauseMs));
}
stop = true;
await driver;
const results = await Promise.all(outcomes);
const seconds = (performance.now() - started) / 1000;
const seen = appReceived(rig.events);
const failed = results.filter((o) => !o.ok);
const dupPosts = results.filter((o) => o.method === 'POST' && (seen.get(o.id) ?? 0) > 1);
const unseen = results.filter((o) => o.ok && !seen.has(o.id));
const lat = results.map((o) => o.ms).sort((a, b) => a - b);
const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))].toFixed(1);
console.log(
  JSON.stringify({
    restarts: done,
    pause_ms: pauseMs,
    requests: results.length,
    seconds: Number(seconds.toFixed(1)),
    rps: Math.round(results.length / seconds),
    failed: failed.length,
    failures: failed.slice(0, 5),
    duplicate_posts: dupPosts.length,
    answered_but_unseen: unseen.length,
    client_latency_ms: { p50: pct(0.5), p99: pct(0.99), max: lat.at(-1)?.toFixed(1) },
    // Time inside Pillion (access log): the hold during a restart plus the app's answer.
    pillion_max_ms: Math.max(
      ...rig.lines.filter((l) => l.source === 'access').map((l) => Number(l.duration_ms)),
    ).toFixed(1),
    restart_ms_mean: (restartMs.reduce((a, b) => a + b, 0) / restartMs.length).toFixed(1),
  }),
);
agent.destroy();
session.close();
process.exit((await rig.stop()) === 0 && failed.length === 0 ? 0 : 1);
