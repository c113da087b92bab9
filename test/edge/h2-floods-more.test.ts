// B5, the rest: MadeYouReset (streams the server resets for the client's fault), the PRIORITY
// flood, the zero-window dribble, and every flood from 50 connections at once while legitimate
// HTTP/1.1 and HTTP/2 requests keep being served. Verdicts come from the attacker's own record of
// what it sent and what the server answered, and from the spy app's record of what reached it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { H2_BUDGET } from '../../src/ingress/h2-guard.ts';
import { type Edge, startEdge } from './edge-harness.ts';
import {
  type Abuse,
  FLOODS,
  flood,
  h1Status,
  h2Status,
  MADE_YOU_RESET,
  MAX_ABUSIVE,
  post,
  priority,
  priorityBurst,
  windowUpdate,
} from './h2-abuse.ts';
import { block, Flag, FrameType, frame, getFields, H2Raw, settings } from './h2-crafter.ts';
import { SpyApp } from './spy-app.ts';

const SETTINGS_INITIAL_WINDOW_SIZE = 4;
const ENHANCE_YOUR_CALM = 11;
const CANCEL = 8;

let edge: Edge;
before(async () => {
  edge = await startEdge();
});
after(() => edge.stop());

async function legitimateStillServed(port: number): Promise<void> {
  assert.equal(await h1Status(port), 200, 'HTTP/1.1 still served');
  assert.equal(await h2Status(port), 200, 'HTTP/2 still served');
}

/** Upstream requests the spy saw for a path (a request head is enough to count). */
function upstreamStarts(spy: SpyApp, path: string): number {
  const needle = Buffer.from(` ${path} HTTP/1.1\r\n`, 'latin1');
  let n = 0;
  for (const c of spy.connections) {
    const all = Buffer.concat(c.bytes);
    for (let at = all.indexOf(needle); at !== -1; at = all.indexOf(needle, at + 1)) n++;
  }
  return n;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const abuse of MADE_YOU_RESET) {
  test(`${abuse.name}: stopped within ${MAX_ABUSIVE} streams, none reaches the app`, async (t) => {
    edge.spy.reset();
    const r = await flood(edge.port, abuse);
    await edge.spy.quiet();
    const path = abuse.path ?? '';
    const started = upstreamStarts(edge.spy, path);
    t.diagnostic(
      `sent ${r.sent}, processed ${r.processed}, goaway ${JSON.stringify(r.goaway)}, ` +
        `closed ${r.closed}, server resets ${r.resets}, upstream starts ${started}`,
    );
    // flood() stops at MAX_ABUSIVE and waits: a GOAWAY or close came within that many.
    assert.ok(r.goaway || r.closed, 'the attacker was stopped');
    assert.ok(started <= r.sent / 100, `${started} of ${r.sent} reset streams reached the app`);
    await legitimateStillServed(edge.port);
  });
}

test('MadeYouReset after the request started: the app request is cancelled', async (t) => {
  const spy = new SpyApp();
  spy.respond = () => null; // a slow app: each request stays in flight until cancelled
  const e = await startEdge(undefined, spy);
  try {
    const h = await H2Raw.open(e.port);
    const streams = 20;
    // content-length over the 64 KiB Pillion buffers, so the request starts with the first DATA.
    for (let i = 0; i < streams; i++)
      await h.send(
        Buffer.concat([
          post(2 * i + 1, '/myr-late', 1 << 20),
          frame(FrameType.DATA, 0, 2 * i + 1, Buffer.alloc(100, 'x')),
        ]),
      );
    for (let i = 0; i < 200 && upstreamStarts(spy, '/myr-late') < streams; i++) await wait(10);
    assert.equal(upstreamStarts(spy, '/myr-late'), streams, 'every request started upstream');
    const open = spy.connections.filter((c) => !c.closed);
    const t0 = performance.now();
    // Trailers without END_STREAM break each stream: the server resets it (PROTOCOL_ERROR).
    for (let i = 0; i < streams; i++)
      await h.send(frame(FrameType.HEADERS, Flag.END_HEADERS, 2 * i + 1, block([['x-t', '1']])));
    for (let i = 0; i < 200 && open.some((c) => !c.closed); i++) await wait(5);
    t.diagnostic(
      `${open.filter((c) => c.closed).length} of ${open.length} app requests cancelled, ` +
        `last after ${Math.round(performance.now() - t0)} ms`,
    );
    assert.ok(
      open.every((c) => c.closed),
      'each app request was cancelled',
    );
    h.close();
  } finally {
    await e.stop();
  }
});

test('PRIORITY flood: Node raises no event; nghttp2 or the keep-alive timeout ends it', async (t) => {
  const abuse = FLOODS.find((f) => f.name === 'PRIORITY flood') as Abuse;
  const r = await flood(edge.port, abuse);
  t.diagnostic(`sent ${r.sent}, goaway ${JSON.stringify(r.goaway)}, closed ${r.closed}`);
  assert.ok(r.goaway || r.closed, 'the attacker was stopped');
  // nghttp2's limiter (ENHANCE_YOUR_CALM), or, on a machine slow enough that the frames take
  // longer than keep_alive_timeout to send, Pillion's close of a session with no stream
  // (NO_ERROR), whichever comes first.
  if (r.goaway) assert.ok([ENHANCE_YOUR_CALM, 0].includes(r.goaway.code), String(r.goaway.code));
  await legitimateStillServed(edge.port);
});

// Pins a known limit (docs/edge.md, Known limits): the bound on PRIORITY frames is nghttp2's
// glitch limiter (1.70: one token a frame, burst 10,000, 330 a second), which Node exposes
// no option for, so B5's 1,000 is not met. A Node whose nghttp2 counts them sooner fails the
// first assertion: then the limit, its docs and this test can be tightened.
test('PRIORITY frames: 9,000 in one burst are all processed, 15,000 end the session', async () => {
  const under = await priorityBurst(edge.port, 9000);
  assert.equal(under.outcome, 'answered', 'nghttp2 still takes 9,000 PRIORITY frames');
  const over = await priorityBurst(edge.port, 15_000);
  assert.equal(over.outcome, 'goaway');
  assert.equal(over.code, ENHANCE_YOUR_CALM);
  await legitimateStillServed(edge.port);
});

test('PRIORITY frames on a session with no stream: closed by the keep-alive timeout', async (t) => {
  const e = await startEdge({ keepAliveTimeoutMs: 500 });
  try {
    const h = await H2Raw.open(e.port);
    await h.handshake();
    // 50 every 50 ms, faster than nghttp2 refills its limiter, bounded to 10 s.
    let sent = 0;
    const until = Date.now() + 10_000;
    while (Date.now() < until && !h.closed && !h.goaway) {
      await h.send(Buffer.concat(Array.from({ length: 50 }, (_, i) => priority(2 * i + 1, 0))));
      sent += 50;
      await wait(50);
    }
    await h.until(() => h.closed, 2000);
    t.diagnostic(`sent ${sent}, goaway ${JSON.stringify(h.goaway)}, closed ${h.closed}`);
    assert.ok(h.goaway || h.closed, 'the session was ended');
    // Pillion's idle close (GOAWAY NO_ERROR), well before nghttp2's 10,000.
    if (h.goaway) assert.equal(h.goaway.code, 0);
    assert.ok(sent < 10_000, `${sent} PRIORITY frames before the close`);
    h.close();
  } finally {
    await e.stop();
  }
});

test('a PING flood in one write gets its GOAWAY, not an ACK for every PING', async (t) => {
  const h = await H2Raw.open(edge.port);
  await h.until(() => h.frames.length > 0);
  // 3,800 PINGs (64 KiB): four TLS records, each read by nghttp2 whole.
  const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
  await h.send(Buffer.concat(Array.from({ length: 3800 }, () => ping)));
  await h.until(() => h.goaway !== undefined);
  await h.until(() => h.closed, 1000);
  const acks = h.frames.filter((f) => f.type === FrameType.PING && f.flags & Flag.ACK).length;
  t.diagnostic(`3,800 PINGs: ${acks} ACKs, goaway ${JSON.stringify(h.goaway)}`);
  assert.equal(h.goaway?.code, ENHANCE_YOUR_CALM);
  assert.ok(acks <= H2_BUDGET.pings, `${acks} PINGs answered`);
  h.close();
});

test('zero window: a session whose streams all wait on a shut window is closed', async (t) => {
  const e = await startEdge({ keepAliveTimeoutMs: 500, upstreamTimeoutMs: 60_000 });
  try {
    const h = await H2Raw.open(e.port, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 0]]));
    const streams = 100;
    for (let i = 0; i < streams; i++) await h.send(h.headers(2 * i + 1, getFields('/zw')));
    // Keeps sending PINGs (under their budget): an active peer, but no stream ever progresses.
    const pinger = setInterval(() => {
      void h.send(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    }, 200);
    await h.until(() => h.goaway !== undefined, 10_000);
    clearInterval(pinger);
    const answered = h.frames.filter((f) => f.type === FrameType.HEADERS).length;
    t.diagnostic(
      `${streams} streams, ${answered} response heads, goaway ${JSON.stringify(h.goaway)}`,
    );
    assert.equal(h.goaway?.code, ENHANCE_YOUR_CALM);
    assert.equal(e.ingress.rejections.H2_STALLED, 1);
    h.close();
    await legitimateStillServed(e.port);
  } finally {
    await e.stop();
  }
});

test('zero-window dribble: stalled streams are reset, a progressing one is served', async (t) => {
  const spy = new SpyApp();
  const body = 'z'.repeat(8192);
  spy.respond = (req, socket) => {
    if (req.target !== '/trickle')
      return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    // A live response: a chunk every 100 ms for 3 s, so its stream keeps progressing.
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    let n = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) clearInterval(timer);
      else if (++n <= 30) socket.write('1\r\nt\r\n');
      else {
        clearInterval(timer);
        socket.write('0\r\n\r\n');
      }
    }, 100);
    return null;
  };
  const e = await startEdge({ keepAliveTimeoutMs: 500, upstreamTimeoutMs: 1500 }, spy);
  try {
    const h = await H2Raw.open(e.port, settings([[SETTINGS_INITIAL_WINDOW_SIZE, 0]]));
    await h.send(Buffer.concat([h.headers(1, getFields('/trickle')), windowUpdate(1, 1 << 20)]));
    const stalled = Array.from({ length: 50 }, (_, i) => 2 * i + 3);
    for (const s of stalled) await h.send(h.headers(s, getFields('/big')));
    // The dribble: one byte of window at a time on ten of the stalled streams.
    let dribbled = 0;
    const resetOf = (s: number): number | undefined => resetAfterHead(h, s);
    const until = Date.now() + 10_000;
    while (Date.now() < until && !h.closed && stalled.some((s) => resetOf(s) === undefined)) {
      for (const s of stalled.slice(0, 10)) await h.send(windowUpdate(s, 1));
      dribbled += 10;
      await wait(100);
    }
    await h.until(() => h.goaway !== undefined || h.closed, 10_000);
    const trickle = h.frames.filter((f) => f.stream === 1 && f.type === FrameType.DATA);
    const trickleEnded = trickle.some((f) => f.flags & Flag.END_STREAM);
    const resets = stalled.map(resetOf);
    t.diagnostic(
      `dribbled ${dribbled} WINDOW_UPDATEs; stalled streams reset ${resets.filter((c) => c === CANCEL).length}/50; ` +
        `trickle ended ${trickleEnded}; then goaway ${JSON.stringify(h.goaway)} closed ${h.closed}`,
    );
    assert.ok(
      resets.every((c) => c === CANCEL),
      'every stalled stream was reset (CANCEL)',
    );
    assert.ok(dribbled <= MAX_ABUSIVE);
    assert.ok(trickleEnded, 'the stream that progressed was served whole');
    assert.equal(h.outcome(1).reset, undefined);
    assert.ok(h.goaway || h.closed, 'the session ended once it was left idle');
    h.close();
  } finally {
    await e.stop();
  }
});

/** The RST_STREAM code of a stream that got its response head first, if any. */
function resetAfterHead(h: H2Raw, stream: number): number | undefined {
  const f = h.frames.find((x) => x.stream === stream && x.type === FrameType.RST_STREAM);
  return f?.payload.readUInt32BE(0);
}

test('every flood from 50 connections at once: all stopped, legitimate traffic served', async (t) => {
  edge.spy.reset();
  const attackers = Array.from({ length: 50 }, (_, i) => FLOODS[i % FLOODS.length] as Abuse);
  let probing = true;
  const probes: number[] = [];
  const prober = (async () => {
    // Bounded: at most 200 probe pairs, one pair at a time, while the attack lasts.
    for (let i = 0; i < 200 && probing; i++)
      probes.push(...(await Promise.all([h1Status(edge.port), h2Status(edge.port)])));
  })();
  const results = await Promise.all(attackers.map((a) => flood(edge.port, a, 10_000)));
  probing = false;
  await prober;
  await edge.spy.quiet();
  const stopped = results.filter((r) => r.goaway || r.closed).length;
  const worst = new Map<string, number>();
  results.forEach((r, i) => {
    const name = attackers[i]?.name ?? '';
    worst.set(name, Math.max(worst.get(name) ?? 0, r.sent));
  });
  let resetStreams = 0;
  let started = 0;
  results.forEach((r, i) => {
    const path = attackers[i]?.path;
    if (!path || !(path === '/rr' || path.startsWith('/myr'))) return;
    resetStreams += r.sent;
  });
  for (const p of new Set(attackers.map((a) => a.path)))
    if (p === '/rr' || p?.startsWith('/myr')) started += upstreamStarts(edge.spy, p);
  t.diagnostic(`50 attackers: ${stopped} stopped; most units sent per abuse:`);
  for (const [name, n] of worst) t.diagnostic(`  ${name}: ${n}`);
  t.diagnostic(
    `legitimate probes ${probes.length}, failed ${probes.filter((s) => s !== 200).length}; ` +
      `reset streams ${resetStreams}, started upstream ${started}`,
  );
  // Each attacker sent at most its limit, then waited: a GOAWAY or close came within it.
  assert.equal(stopped, 50);
  assert.ok(probes.length >= 2);
  assert.deepEqual(
    probes.filter((s) => s !== 200),
    [],
    'every legitimate request succeeded',
  );
  assert.ok(started <= resetStreams / 100, `${started} of ${resetStreams} reset streams started`);
  await legitimateStillServed(edge.port);
});
