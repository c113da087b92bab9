// R5 through the real CLI: an app that reads each request's head and never answers gets 1,000
// requests (500 over HTTPS/1.1, 500 over HTTP/2, 100 at a time); each gets a 504, never before
// `upstream_timeout` (here 1 s), while a fast route of the same app keeps answering, and
// Pillion's fds (/proc/PID/fd) come back to what they were before. How close to the timeout
// the 504 comes is a timing figure, measured in bench/upstream-timeout.ts, not asserted here.
import assert from 'node:assert/strict';
import { connect as h2Connect } from 'node:http2';
import { Agent } from 'node:https';
import { test } from 'node:test';
import {
  configFile,
  eventually,
  fdCount,
  h1Request,
  h2Request,
  type Reply,
  readEvents,
  startAppBehindPillion,
} from './harness.ts';

const TIMEOUT_MS = 1000;
/** The fixture app holds /slow for this long: far past the timeout, so it never answers. */
const HUNG = '/slow?ms=600000';

/** `n` requests to `path`, `concurrency` at a time over one pool (h1) or one session (h2). */
async function many(
  port: number,
  protocol: 'h1' | 'h2',
  n: number,
  concurrency: number,
  tag: string,
): Promise<{ reply: Reply; ms: number }[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency, rejectUnauthorized: false });
  const session =
    protocol === 'h2'
      ? h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false })
      : null;
  const out: { reply: Reply; ms: number }[] = [];
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < n) {
          const path = `${HUNG}&r=${tag}-${next++}`;
          const t0 = performance.now();
          const reply = session
            ? await h2Request(session, path)
            : await h1Request(port, path, { agent });
          out.push({ reply, ms: performance.now() - t0 });
        }
      }),
    );
  } finally {
    agent.destroy();
    session?.close();
  }
  return out;
}

test('1,000 requests to a hung app over h1 and h2: each a 504 no earlier than upstream_timeout, a fast route unaffected, no fd left behind', async (t) => {
  const cfg = configFile(['ingress:', '  limits:', `    upstream_timeout: ${TIMEOUT_MS}ms`, '']);
  const { p, port, events } = await startAppBehindPillion(['--config', cfg], {});
  t.after(() => p.kill());
  const pid = p.proc.pid as number;
  const stalls = (): number => readEvents(events).filter((e) => e.includes(' /slow ')).length;

  // Warm-up: TLS, both protocols, the pool and its sweep exist before the baseline.
  const warm = await Promise.all([many(port, 'h1', 10, 10, 'w1'), many(port, 'h2', 10, 10, 'w2')]);
  assert.deepEqual([...new Set(warm.flat().map((x) => x.reply.status))], [504]);
  assert.equal((await h1Request(port, '/')).status, 200);
  // Client connections closed, app connections closed after their 504: what is left is
  // Pillion's own (listeners, pipes, the idle app connection of the fast request).
  await new Promise((r) => setTimeout(r, 500));
  const baseline = fdCount(pid);

  const before = stalls();
  const load = Promise.all([many(port, 'h1', 500, 50, 'a'), many(port, 'h2', 500, 50, 'b')]);
  // While 100 requests hang at the app, another route of it is answered over both protocols.
  await eventually(() => stalls() - before >= 100, 30_000, '100 requests held at the app');
  const fast = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  const fastH2 = await h2Request(fast, '/').finally(() => fast.close());
  const fastH1 = await h1Request(port, '/');
  const pendingAtFast = stalls() - before;
  const during = fdCount(pid);
  const done = (await load).flat();

  const early = done.filter((x) => x.ms < TIMEOUT_MS).map((x) => Math.round(x.ms));
  const worst = Math.round(Math.max(...done.map((x) => x.ms)));
  t.diagnostic(
    `1,000 hung requests: fast route answered with ${pendingAtFast} held; slowest 504 after ${worst} ms`,
  );
  assert.equal(fastH1.status, 200, 'the fast route over h1, while the hung ones wait');
  assert.equal(fastH2.status, 200, 'the fast route over h2, while the hung ones wait');
  assert.equal(done.length, 1000);
  assert.deepEqual([...new Set(done.map((x) => x.reply.status))], [504]);
  assert.deepEqual(early, [], 'no 504 before the timeout');
  assert.equal(stalls() - before, 1000, 'every request reached the app');

  // Bounded wait: the app connections of the last 504s finish closing.
  let fds = fdCount(pid);
  await eventually(
    () => {
      fds = fdCount(pid);
      return Math.abs(fds - baseline) <= 5;
    },
    10_000,
    `fds back to ${baseline} ±5 (now ${fds})`,
  ).catch(() => {});
  t.diagnostic(`Pillion's fds: ${baseline} before, ${during} while they hung, ${fds} after`);
  // The count sees what the hung requests hold (a client and an app connection each over h1).
  assert.ok(during > baseline + 50, `fds ${during} while 100 requests hung`);
  assert.ok(Math.abs(fds - baseline) <= 5, `fds ${fds} after 1,000 504s, ${baseline} before`);

  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const lines = p.lines.filter((l) => l.source === 'access' && l.status === 504);
  assert.equal(lines.length, 1020);
  for (const l of lines) assert.ok(Number(l.duration_ms) >= TIMEOUT_MS, JSON.stringify(l));
});
