// R4 figure: SIGTERM under an open-loop load of 1-2 s requests over HTTP/1.1 (keep-alive) and
// HTTP/2; every request is classified. Run: npm run bench:drain -- [rps=300]
// [seconds-before-sigterm=3] [drain-delay=1s]. Bounded: the load stops at SIGTERM + 5 s.
import { connect as h2Connect } from 'node:http2';
import { Agent, request } from 'node:https';
import { startRig } from '../test/e2e/chaos.ts';

const rps = Number(process.argv[2] ?? 300);
const before = Number(process.argv[3] ?? 3) * 1000;
const drainDelay = process.argv[4] ?? '1s';
const rig = await startRig({ 'drain-delay': drainDelay });
const agent = new Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 2000 });
const session = h2Connect(`https://127.0.0.1:${rig.port}`, { rejectUnauthorized: false });
session.on('error', () => {});

type Kind = 'ok' | 'ok-close' | '503' | 'refused' | 'reset-before-response' | 'cut' | 'other';
interface Result {
  kind: Kind;
  sentAfterTerm: boolean;
  detail?: string;
}

function h1(ms: number): Promise<Omit<Result, 'sentAfterTerm'>> {
  return new Promise((resolve) => {
    let responded = false;
    const req = request(
      { host: '127.0.0.1', port: rig.port, path: `/slow?ms=${ms}`, agent },
      (res) => {
        responded = true;
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200)
            resolve({ kind: res.headers.connection === 'close' ? 'ok-close' : 'ok' });
          else
            resolve({
              kind: res.statusCode === 503 ? '503' : 'other',
              detail: `${res.statusCode}`,
            });
        });
        res.on('error', () => resolve({ kind: 'cut' }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (responded) return;
      if (e.code === 'ECONNREFUSED') resolve({ kind: 'refused' });
      else resolve({ kind: 'reset-before-response', detail: e.code ?? e.message });
    });
    req.end();
  });
}

function h2(ms: number): Promise<Omit<Result, 'sentAfterTerm'>> {
  return new Promise((resolve) => {
    if (session.closed || session.destroyed) {
      resolve({ kind: 'refused', detail: 'session closed (GOAWAY)' });
      return;
    }
    let status = 0;
    const req = session.request({ ':path': `/slow?ms=${ms}` });
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.resume();
    req.on('end', () =>
      resolve(status === 200 ? { kind: 'ok' } : { kind: status === 503 ? '503' : 'other' }),
    );
    req.on('error', (e: NodeJS.ErrnoException) =>
      resolve({ kind: status ? 'cut' : 'reset-before-response', detail: e.code ?? e.message }),
    );
  });
}

const pending: Promise<Result>[] = [];
let termAt = 0;
const start = performance.now();
let i = 0;
const stopAt = () => (termAt ? termAt + 5000 : Number.POSITIVE_INFINITY);
const driver = (async () => {
  while (performance.now() < stopAt()) {
    const due = start + (i * 1000) / rps;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const ms = 1000 + ((i * 37) % 1000);
    const after = termAt > 0;
    pending.push((i % 2 === 0 ? h1(ms) : h2(ms)).then((r) => ({ ...r, sentAfterTerm: after })));
    i++;
  }
})();
await new Promise((r) => setTimeout(r, before));
termAt = performance.now();
const exit = rig.stop();
const code = await exit;
const drainedMs = performance.now() - termAt;
await driver;
const results = await Promise.all(pending);
const count = (pred: (r: Result) => boolean) => results.filter(pred).length;
const byKind = (after: boolean) =>
  Object.fromEntries(
    (['ok', 'ok-close', '503', 'refused', 'reset-before-response', 'cut', 'other'] as const).map(
      (k) => [k, count((r) => r.kind === k && r.sentAfterTerm === after)],
    ),
  );
const msgs = rig.lines.map((l) => String(l.msg));
console.log(
  JSON.stringify({
    rps,
    requests: results.length,
    exit_code: code,
    sigterm_to_exit_ms: Math.round(drainedMs),
    sent_before_sigterm: byKind(false),
    sent_after_sigterm: byKind(true),
    order_ok:
      msgs.indexOf('drain delay over; closing the listener') < msgs.indexOf('ingress stopped') &&
      msgs.indexOf('ingress stopped') < msgs.indexOf('stopping app'),
  }),
);
agent.destroy();
session.destroy();
process.exit(0);
