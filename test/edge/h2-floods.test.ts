// B5: HTTP/2 floods. Each attacker sends at most 1,000 abusive frames or streams, then waits:
// the verdict is a GOAWAY or a close from Pillion, from the attacker's own record of frames.
// Legitimate HTTP/1.1 and HTTP/2 requests still succeed afterwards.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { type Abuse, FLOODS, flood, MADE_YOU_RESET, MAX_ABUSIVE } from './h2-abuse.ts';
import { block, Flag, FrameType, frame, getFields, H2Raw, rst } from './h2-crafter.ts';
import { exchange } from './raw-client.ts';

let edge: Edge;
before(async () => {
  edge = await startEdge();
});
after(() => edge.stop());

async function legitimateStillServed(): Promise<void> {
  const x = await exchange(edge.port);
  x.socket.write('GET /legit HTTP/1.1\r\nHost: a.test\r\n\r\n');
  const r = await x.settle(1);
  await x.close();
  assert.equal(r.responses[0]?.status, 200, 'HTTP/1.1 still served');
  const s = h2connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  const status = await new Promise<number>((resolve, reject) => {
    const st = s.request({ ':path': '/legit' });
    st.on('response', (hd) => resolve(Number(hd[':status'])));
    st.on('error', reject);
    st.resume();
  });
  s.close();
  assert.equal(status, 200, 'HTTP/2 still served');
}

const named = (name: string): Abuse => FLOODS.find((f) => f.name === name) as Abuse;

/** The single-connection floods: every one of B5's but PRIORITY and MadeYouReset (their own file). */
const SINGLE: Abuse[] = [
  ...FLOODS.filter((f) => !f.limit && !MADE_YOU_RESET.includes(f)),
  {
    name: 'streams refused for their headers (uppercase names)',
    make: (i) =>
      frame(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.END_STREAM,
        2 * i + 1,
        block(getFields('/u', [['X-Upper', '1']])),
      ),
  },
];

for (const f of SINGLE) {
  test(`${f.name}: GOAWAY or close within ${MAX_ABUSIVE} abusive frames`, async (t) => {
    edge.spy.reset();
    const before = edge.events.length;
    const r = await flood(edge.port, f);
    t.diagnostic(
      `${f.name}: sent ${r.sent}, goaway ${JSON.stringify(r.goaway)}, closed ${r.closed}`,
    );
    assert.ok(r.goaway || r.closed, 'the attacker was stopped');
    // Bounded wait for the session's end to be logged.
    const rejected = () => edge.events.slice(before).filter((e) => e.msg === 'connection rejected');
    for (let i = 0; i < 50 && rejected().length === 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    t.diagnostic(
      `logged: ${rejected()
        .map((e) => `${e.reason} ${e.error ?? ''}`)
        .join(', ')}`,
    );
    if (f.reason) {
      const ours = rejected().filter((e) => e.reason === f.reason);
      assert.equal(ours.length, 1, `one ${f.reason} event`);
    } else assert.ok(rejected().length >= 1, 'the session end is logged');
    await legitimateStillServed();
  });
}

test('streams reset by the client do not reach the app (≤ 1%)', async (t) => {
  let reset = 0;
  let reached = 0;
  for (let round = 0; round < 5; round++) {
    const h = await H2Raw.open(edge.port);
    await h.send(h.headers(1, getFields('/warm')));
    await h.until(() => h.outcome(1).status !== undefined);
    edge.spy.reset();
    // 150 per connection stays under the flood budget, so every stream is served or cancelled.
    for (let i = 1; i <= 150; i++) {
      await h.send(
        Buffer.concat([
          frame(
            FrameType.HEADERS,
            Flag.END_HEADERS | Flag.END_STREAM,
            2 * i + 1,
            block(getFields('/rr')),
          ),
          rst(2 * i + 1),
        ]),
      );
    }
    // A canary stream behind the resets: once it is answered, every reset stream was seen.
    await h.send(h.headers(303, getFields('/after')));
    await h.until(() => h.outcome(303).status !== undefined);
    assert.equal(h.goaway, undefined);
    reset += 150;
    reached += edge.spy.requests.filter((r) => r.target === '/rr').length;
    h.close();
  }
  t.diagnostic(`client-reset streams ${reset}, reached the app ${reached}`);
  assert.ok(reached <= reset / 100, `${reached} of ${reset} reset streams reached the app`);
});

test('50 connections flooding PINGs and resets at once are all stopped', async (t) => {
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      i % 2 === 0 ? flood(edge.port, named('PING flood')) : flood(edge.port, named('Rapid Reset')),
    ),
  );
  const stopped = results.filter((r) => r.goaway || r.closed).length;
  t.diagnostic(
    `50 attackers: ${stopped} stopped, most frames sent by one ${Math.max(...results.map((r) => r.sent))}`,
  );
  assert.equal(stopped, 50);
  await legitimateStillServed();
});
