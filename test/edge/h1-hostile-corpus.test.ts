// B1: every hostile payload, sent whole, byte by byte and in random fragments, with a canary
// request pipelined behind it. The verdict comes from the spy app's byte record. The payloads
// are shared among a few ingresses, each in front of a spy of its own, run side by side: one
// exchange at a time per spy, so each spy's record belongs to one payload. Connections resume
// the last TLS session (each is still a new connection to HTTP), to spare thousands of full
// handshakes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { DIFFERS_FROM_NODE_HTTP, H1_CORPUS, type Source } from './h1-corpus.ts';
import { exchange, WRITE_MODES, writeAs } from './raw-client.ts';
import { CANARY, judge, type Verdict } from './verdict.ts';

const LANES = 8;

let edges: Edge[] = [];

/**
 * Waits (bounded) until the ingress has closed its side of the client connection and has no
 * request to the app in flight, then until the spy holds no partial message: so no byte of this
 * send can reach the spy after the next one starts, however loaded the machine.
 */
async function done(edge: Edge): Promise<void> {
  const until = Date.now() + 10_000;
  while ((edge.ingress.openConnections > 0 || edge.ingress.inflight > 0) && Date.now() < until)
    await new Promise((r) => setTimeout(r, 2));
  await edge.spy.quiet();
}
before(async () => {
  edges = await Promise.all(Array.from({ length: LANES }, () => startEdge()));
});
after(() => Promise.all(edges.map((e) => e.stop())));

test('every payload is its own bytes', () => {
  assert.equal(new Set(H1_CORPUS.map((p) => p.bytes)).size, H1_CORPUS.length);
});

test('every payload marked as parting from node:http is in the corpus', () => {
  const names = new Set(H1_CORPUS.filter((p) => p.differs).map((p) => p.name));
  assert.deepEqual([...names].sort(), Object.keys(DIFFERS_FROM_NODE_HTTP).sort());
});

// 30 to 40 s alone on a shared 2-core machine; the bound leaves room for a loaded one running
// the whole suite.
test('no hostile HTTP/1 payload gets past: a 4xx and nothing upstream, or one canonical request', {
  timeout: 300_000,
}, async (t) => {
  assert.ok(H1_CORPUS.length >= 900, `corpus has ${H1_CORPUS.length} payloads`);
  const counts: Record<Verdict, number> = { rejected: 0, forwarded: 0, held: 0 };
  /** Per family: payloads, then the verdicts of their sends. */
  const bySource = new Map<Source, { payloads: number } & Record<Verdict, number>>();
  for (const p of H1_CORPUS) {
    const s = bySource.get(p.source) ?? { payloads: 0, rejected: 0, forwarded: 0, held: 0 };
    s.payloads++;
    bySource.set(p.source, s);
  }
  const failures: string[] = [];
  const held: string[] = [];
  let next = 0;
  const lane = async (edge: Edge): Promise<void> => {
    for (let i = next++; i < H1_CORPUS.length; i = next++) {
      const p = H1_CORPUS[i];
      if (!p) break;
      for (const [m, mode] of WRITE_MODES.entries()) {
        edge.spy.reset();
        const x = await exchange(edge.port, p.head, true);
        await writeAs(x.socket, Buffer.from(p.bytes + CANARY, 'latin1'), mode, i * 3 + m + 1);
        const res = await x.settle(2);
        await x.close();
        await done(edge);
        const { verdict, problems } = judge(res, edge.spy);
        counts[verdict]++;
        const family = bySource.get(p.source);
        if (family) family[verdict]++;
        if (verdict === 'held') held.push(`${p.name} [${mode}]`);
        // A payload where the engine parts from node:http says so, and is refused.
        if (p.differs && verdict !== 'rejected')
          failures.push(`${p.source}: ${p.name} [${mode}]: marked as refused, but ${verdict}`);
        if (problems.length > 0)
          failures.push(`${p.source}: ${p.name} [${mode}]: ${problems.join('; ')}`);
      }
    }
  };
  await Promise.all(edges.map(lane));
  for (const [source, s] of bySource)
    t.diagnostic(
      `${source}: ${s.payloads} payloads; sends rejected ${s.rejected}, forwarded ${s.forwarded}, held ${s.held}`,
    );
  t.diagnostic(
    `payloads ${H1_CORPUS.length}, sends ${H1_CORPUS.length * WRITE_MODES.length}: ` +
      `rejected ${counts.rejected}, forwarded canonical ${counts.forwarded}, held ${counts.held}, ` +
      `failures ${failures.length}${held.length > 0 ? `; held: ${held.join(', ')}` : ''}`,
  );
  assert.deepEqual(failures, []);
  assert.ok(counts.rejected > 0 && counts.forwarded > 0);
});
