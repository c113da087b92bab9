// B1: every hostile payload, sent whole, byte by byte and in random fragments, with a canary
// request pipelined behind it. The verdict comes from the spy app's byte record.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { H1_CORPUS } from './h1-corpus.ts';
import { exchange, WRITE_MODES, writeAs } from './raw-client.ts';
import { CANARY, judge, type Verdict } from './verdict.ts';

let edge: Edge;
before(async () => {
  edge = await startEdge();
});
after(() => edge.stop());

test('no hostile HTTP/1 payload gets past: a 4xx and nothing upstream, or one canonical request', async (t) => {
  assert.ok(H1_CORPUS.length >= 300, `corpus has ${H1_CORPUS.length} payloads`);
  const counts: Record<Verdict, number> = { rejected: 0, forwarded: 0, held: 0 };
  const failures: string[] = [];
  let seed = 1;
  for (const p of H1_CORPUS) {
    for (const mode of WRITE_MODES) {
      edge.spy.reset();
      const x = await exchange(edge.port, p.head);
      await writeAs(x.socket, Buffer.from(p.bytes + CANARY, 'latin1'), mode, seed++);
      const res = await x.settle(2);
      await x.close();
      await edge.spy.quiet();
      const { verdict, problems } = judge(res, edge.spy);
      counts[verdict]++;
      if (problems.length > 0) failures.push(`${p.name} [${mode}]: ${problems.join('; ')}`);
    }
  }
  t.diagnostic(
    `payloads ${H1_CORPUS.length}, sends ${H1_CORPUS.length * WRITE_MODES.length}: ` +
      `rejected ${counts.rejected}, forwarded canonical ${counts.forwarded}, held ${counts.held}`,
  );
  assert.deepEqual(failures, []);
  assert.ok(counts.rejected > 0 && counts.forwarded > 0);
});
