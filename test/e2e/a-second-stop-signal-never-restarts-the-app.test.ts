import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, eventually, h1Request, readEvents, startPillion, tempDir } from './harness.ts';

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  test(`a second ${sig} during the drain reaches the app, which is not started again, and no request is replayed`, async (t) => {
    const events = join(tempDir(), 'events');
    const p = startPillion(
      // The app exits 1 on SIGINT/SIGTERM, as python does on Ctrl-C: the restart policy
      // (on-failure) would start it again, with a back-off short enough to do so at once.
      ['run', '--listen', '127.0.0.1:0', '--backoff-base', '10ms', '--', ...APP_CMD],
      { env: { APP_EVENTS: events, APP_EXIT_ON_TERM: '1' }, bin: true },
    );
    t.after(() => p.kill());
    const port = await p.port();
    await p.ready();
    // In flight through the drain: it would be replayed to a restarted app.
    const slow = h1Request(port, '/slow?ms=60000').catch((e: Error) => e);
    await eventually(
      () => readEvents(events).some((e) => e.startsWith('request GET /slow')),
      10_000,
      'the slow request at the app',
    );
    p.proc.kill(sig);
    await p.waitForLog((l) => l.msg === 'stop signal received; draining');
    p.proc.kill(sig);
    assert.equal(await p.exited, 1, "Pillion exits with the app's code");

    const reply = await slow;
    assert.ok(reply instanceof Error || reply.status >= 500, 'the cut request is not a success');
    const msgs = p.lines.filter((l) => l.source === 'supervisor').map((l) => l.msg);
    assert.equal(msgs.filter((m) => m === 'app started').length, 1, msgs.join('\n'));
    assert.ok(!msgs.includes('app restarted'), msgs.join('\n'));
    assert.ok(msgs.includes('app exited while Pillion is stopping; not restarting it'));
    const seen = readEvents(events);
    assert.equal(seen.filter((e) => e.startsWith('request GET /slow')).length, 1, seen.join('\n'));
    assert.deepEqual(
      seen.filter((e) => e.startsWith('signal')),
      [`signal ${sig}`],
      'the app got the second signal only',
    );
    assert.ok(!seen.includes('finished /slow'));
  });
}
