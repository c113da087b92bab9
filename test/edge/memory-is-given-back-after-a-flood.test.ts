// B5: once a flood has been quiet for a while, Pillion runs one GC and malloc_trim, which give
// memory back (src/ingress/memory-relief.ts), and says so. The figure (RSS within 10% of
// baseline 60 s after the flood bench) is bench/h2-floods.ts's; here only that it happens, once,
// after the flood, and that on glibc the C heap was trimmed too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startEdge } from './edge-harness.ts';
import { FLOODS, flood } from './h2-abuse.ts';

/** glibc, whose malloc_trim Pillion calls (musl and other systems have none). */
const glibc =
  process.platform === 'linux' &&
  Boolean(
    (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header
      ?.glibcVersionRuntime,
  );

test('a PING flood is followed by one GC and malloc_trim that give memory back', async () => {
  const edge = await startEdge();
  try {
    const ping = FLOODS.find((f) => f.reason === 'H2_PING_FLOOD');
    assert.ok(ping);
    for (let i = 0; i < 3; i++) assert.ok((await flood(edge.port, ping)).goaway);
    const given = () =>
      edge.events.filter((e) => e.msg === 'memory given back after connection abuse');
    // Bounded wait: the quiet time is 5 s.
    for (let i = 0; i < 150 && given().length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(given().length, 1, 'one GC for the three floods');
    const [e] = given();
    assert.equal(typeof e?.rss_before_mib, 'number');
    assert.equal(typeof e?.rss_after_mib, 'number');
    assert.equal(e?.c_heap_trimmed, glibc);
  } finally {
    await edge.stop();
  }
});
