// L4: with `when_full: drop`, a stalled stdout drops lines, and /metrics says how many,
// exactly: the app lines missing from the output equal pillion_app_log_lines_dropped_total,
// scraped over the admin Unix socket while nobody reads Pillion's stdout.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type AdminAt, scrape } from './admin-client.ts';
import { tempDir } from './harness.ts';
import { runSeq } from './seq-run.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('lines dropped by a stalled sink are counted exactly in /metrics', async (t) => {
  const dir = tempDir();
  const done = join(dir, 'done.json');
  const socketPath = join(dir, 'admin.sock');
  const token = randomBytes(24).toString('hex');
  writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
  const count = 30_000; // per stream: far more than the 1 MiB buffer holds
  const run = runSeq(
    [
      '--log-buffer',
      String(1024 * 1024),
      '--log-when-full',
      'drop',
      '--admin',
      `unix:${socketPath}`,
      '--admin-token-file',
      join(dir, 'token'),
    ],
    ['--count', String(count), '--done', done],
    'medium',
    { paused: true },
  );
  t.after(() => run.proc.kill('SIGKILL'));
  for (let i = 0; i < 1500 && !existsSync(done); i++) await sleep(20);
  assert.ok(existsSync(done), 'the app finished writing while the sink was stalled');
  // The app has written its last line and exited; its drops are final. Pillion flushes its
  // stalled stdout with the admin listener still up: scraped with stdout still stalled.
  const admin: AdminAt = { socketPath, token };
  const m = await scrape(admin);
  const appDropped = m.value('pillion_app_log_lines_dropped_total', { sink: 'stdout' });
  const allDropped = m.value('pillion_log_lines_dropped_total', { sink: 'stdout' });
  assert.ok(appDropped > 0, 'lines were dropped');
  assert.ok(allDropped >= appDropped);
  assert.equal(
    m.value('pillion_log_lines_total', { stream: 'stdout' }) +
      m.value('pillion_log_lines_total', { stream: 'stderr' }),
    2 * count,
    'every app line was captured, dropped or not',
  );
  run.resume();
  assert.equal(await run.exited, 0, run.stderr());
  let lost = 0;
  for (const stream of ['stdout', 'stderr'] as const)
    lost += run.verifier.report(stream, count).lost;
  assert.equal(lost, appDropped, 'the metric is exactly what was lost');
  const closing = run.others.find((l) => l.msg === 'logs closing');
  assert.ok(closing, 'the logs closing line');
  assert.equal((closing.app_lines_dropped as Record<string, number>).stdout, appDropped);
});
