// L4: Pillion's stdout not read for 30 s (its pipe left full, as a stuck log collector leaves
// it), under each policy. The queue is sampled from /metrics (pillion_log_queued_bytes) every
// second of the stall and stays within the configured buffer; `block` holds the app and loses
// nothing; `drop` keeps the app and Pillion going, and every line missing from the output, the
// app's and Pillion's own access lines alike, is in pillion_log_lines_dropped_total, exactly.
// The admin listener is on 127.0.0.1:0, its address read from the `admin listening` line.
// The 30 s are a bounded wait for the stall, not a measurement.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { type AdminAt, type Scrape, scrape } from './admin-client.ts';
import { eventually, h1Request, type LogLine, MAIN, rssKib, tempDir } from './harness.ts';
import { runSeq, type SeqRun } from './seq-run.ts';

const MiB = 1024 * 1024;
const BOUND = 4 * MiB;
/**
 * The bound may be passed by one read of each app pipe (64 KiB) as JSON records: up to ~0.7 MiB
 * for a read of 10-byte lines, each in a record of about 110 bytes (measured: 4 MiB + 178 KiB
 * under block, + 3 KiB under drop).
 */
const SLACK = MiB;
const STALL_MS = 30_000;

/** Resident memory in bytes. */
const rss = (pid: number): number => rssKib(pid) * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the app is ready and the admin listens; its /metrics and the HTTPS port. */
async function started(run: SeqRun): Promise<{ admin: AdminAt; port: number }> {
  const find = (msg: string): LogLine | undefined => run.others.find((l) => l.msg === msg);
  await eventually(
    () => find('app ready') !== undefined && find('admin listening') !== undefined,
    60_000,
    `app ready and admin listening; ${run.stderr()}`,
  );
  const addr = String(find('admin listening')?.admin);
  const i = addr.lastIndexOf(':');
  return {
    admin: { host: addr.slice(0, i), port: Number(addr.slice(i + 1)), token: '' },
    port: Number(find('ingress listening')?.port),
  };
}

interface Figures {
  dropped: number;
  droppedApp: number;
  lines: number;
}

const figures = (m: Scrape): Figures => ({
  dropped: m.value('pillion_log_lines_dropped_total', { sink: 'stdout' }),
  droppedApp: m.value('pillion_app_log_lines_dropped_total', { sink: 'stdout' }),
  lines: m.sum('pillion_log_lines_total'),
});

/** Each second of the stall: the queue, RSS and the line count, and `also()`. */
async function stall(
  run: SeqRun,
  admin: AdminAt,
  also: () => Promise<void> = async () => {},
): Promise<{ queued: number[]; rssMax: number; lines: number[] }> {
  const pid = run.proc.pid as number;
  const queued: number[] = [];
  const lines: number[] = [];
  let rssMax = 0;
  const end = performance.now() + STALL_MS;
  while (performance.now() < end) {
    const m = await scrape(admin);
    queued.push(m.value('pillion_log_queued_bytes', { sink: 'stdout' }));
    lines.push(m.sum('pillion_log_lines_total'));
    rssMax = Math.max(rssMax, rss(pid));
    await also();
    await sleep(1000);
  }
  return { queued, rssMax, lines };
}

function checkBound(t: TestContext, what: string, queued: number[], closing: LogLine): void {
  const peak = Number(closing.peak_queued_bytes);
  t.diagnostic(`${what}: queued max ${Math.max(...queued)} B (sampled), peak ${peak} B`);
  assert.ok(Math.max(...queued) > BOUND / 2, `the queue filled: ${queued.join(' ')}`);
  assert.ok(Math.max(...queued) <= BOUND + SLACK, `queued ${queued.join(' ')}`);
  assert.ok(peak <= BOUND + SLACK, `peak ${peak}`);
}

async function blockCase(t: TestContext): Promise<void> {
  const dir = tempDir();
  const done = join(dir, 'done.json');
  const go = join(dir, 'go');
  const count = 20_000; // per stream, ~88 MB in all: far past the bound
  const run = runSeq(
    ['--log-buffer', String(BOUND), '--log-when-full', 'block'],
    ['--serve', '--go', go, '--count', String(count), '--done', done],
    'mixed',
  );
  t.after(() => run.proc.kill('SIGKILL'));
  const { admin } = await started(run);
  const before = figures(await scrape(admin));
  run.pause();
  writeFileSync(go, '');
  const rss0 = rss(run.proc.pid as number);
  const s = await stall(run, admin);
  const after = figures(await scrape(admin));
  assert.equal(existsSync(done), false, 'the app is held while the sink is stalled');
  assert.equal(after.dropped - before.dropped, 0, 'nothing dropped under block');
  // Held: the app's lines stopped being read (the count is the same over the last 10 s).
  assert.equal(s.lines.at(-1), s.lines.at(-11), `lines read: ${s.lines.join(' ')}`);
  run.resume();
  assert.equal(await run.exited, 0, run.stderr());
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = run.verifier.report(stream, count);
    assert.equal(rep.received, count, rep.examples.join('\n'));
    assert.equal(rep.lost + rep.duplicated + rep.reordered + rep.corrupted, 0);
  }
  const closing = run.others.find((l) => l.msg === 'logs closing') as LogLine;
  assert.ok(closing, 'the logs closing line');
  assert.deepEqual(closing.pillion_log_lines_dropped_total, { stdout: 0 });
  checkBound(t, 'block', s.queued, closing);
  t.diagnostic(`block: RSS ${(rss0 / MiB).toFixed(1)} -> max ${(s.rssMax / MiB).toFixed(1)} MiB`);
  // Resident memory stayed bounded (about 120 MiB here, 370 MiB with an unbounded queue).
  assert.ok(s.rssMax < 200 * MiB, `RSS ${s.rssMax}`);
}

async function dropCase(t: TestContext): Promise<void> {
  const dir = tempDir();
  const done = join(dir, 'done.json');
  const go = join(dir, 'go');
  // 500 lines a second per stream for 25 s, about 30 MB: written all through the stall. No line
  // over the 64 KiB limit: a split line's pieces may be dropped apart, which would blur the count.
  const rate = 500;
  const count = rate * 25;
  const run = runSeq(
    ['--log-buffer', String(BOUND), '--log-when-full', 'drop'],
    [
      '--serve',
      '--stay',
      '--go',
      go,
      '--rate',
      String(rate),
      '--count',
      String(count),
      '--done',
      done,
    ],
    'medium',
  );
  t.after(() => run.proc.kill('SIGKILL'));
  const { admin, port } = await started(run);
  const before = figures(await scrape(admin));
  assert.equal(before.dropped, 0);
  run.pause();
  writeFileSync(go, '');
  const rss0 = rss(run.proc.pid as number);
  // Requests go on through the stall: Pillion is never blocked, and each has an access line
  // that may be dropped too.
  const ids: string[] = [];
  const s = await stall(run, admin, async () => {
    for (let i = 0; i < 2; i++) {
      const id = `l4-${ids.length}`;
      const r = await h1Request(port, '/', { headers: { 'x-request-id': id } });
      assert.equal(r.status, 200);
      ids.push(id);
    }
  });
  // The app has written its last line (it keeps running), so no more app lines come.
  await eventually(() => existsSync(done), 60_000, 'the app wrote every line');
  const after = figures(await scrape(admin));
  run.resume();
  // The queue is read down first: a line written while it is still past its bound would be
  // dropped too, this last request's access line included.
  await eventually(
    async () => (await scrape(admin)).value('pillion_log_queued_bytes', { sink: 'stdout' }) === 0,
    60_000,
    'the queue read down',
  );
  // Once this request's access line is read, everything written before it was read too.
  await h1Request(port, '/', { headers: { 'x-request-id': 'l4-last' } });
  await eventually(
    () => run.others.some((l) => l.source === 'access' && l.request_id === 'l4-last'),
    60_000,
    'the last access line',
  );
  let appLost = 0;
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = run.verifier.report(stream, count);
    assert.equal(
      rep.duplicated + rep.reordered + rep.corrupted + rep.partial,
      0,
      rep.examples.join('\n'),
    );
    appLost += rep.lost;
  }
  const logged = new Set(
    run.others.filter((l) => l.source === 'access').map((l) => String(l.request_id)),
  );
  const accessLost = ids.filter((id) => !logged.has(id)).length;
  t.diagnostic(
    `drop: app lines lost ${appLost} of ${2 * count}, access lines lost ${accessLost} of ${ids.length}, counter +${after.dropped - before.dropped}`,
  );
  assert.ok(appLost > 0, 'app lines were dropped');
  assert.ok(accessLost > 0, 'access lines were dropped');
  // Exactly: every line missing is counted, and nothing that arrived is.
  assert.equal(after.dropped - before.dropped, appLost + accessLost);
  assert.equal(after.droppedApp - before.droppedApp, appLost);
  assert.equal(after.lines - before.lines, 2 * count, 'every app line was captured');
  // The sink was told, once it had room again, with the same total.
  const reports = run.others.filter((l) => l.msg === 'log lines dropped: this sink was full');
  assert.equal(
    reports.reduce((n, l) => n + Number(l.dropped), 0),
    after.dropped,
  );
  run.proc.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr());
  const closing = run.others.find((l) => l.msg === 'logs closing') as LogLine;
  assert.ok(closing, 'the logs closing line');
  assert.deepEqual(closing.pillion_log_lines_dropped_total, { stdout: after.dropped });
  checkBound(t, 'drop', s.queued, closing);
  t.diagnostic(`drop: RSS ${(rss0 / MiB).toFixed(1)} -> max ${(s.rssMax / MiB).toFixed(1)} MiB`);
  assert.ok(s.rssMax < 200 * MiB, `RSS ${s.rssMax}`);
}

test('stdout unread for 30 s: the queue stays within its bound; block loses nothing, drop counts every line lost', {
  concurrency: 2,
}, async (t) => {
  // Side by side: each is mostly waiting.
  await Promise.all([
    t.test('block: the app is held, every line arrives once the sink reads again', blockCase),
    t.test('drop: the app goes on, lines lost == pillion_log_lines_dropped_total delta', dropCase),
  ]);
});

test('a stdout reader that never reads does not keep Pillion from exiting with the app code', async (t) => {
  // 50,000 log lines (about 5 MB as JSON) fill the pipe and stay queued; then the app exits 3.
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      'run',
      '--admin',
      '127.0.0.1:0',
      '--restart',
      'never',
      '--listen',
      '127.0.0.1:0',
      '--',
      'sh',
      '-c',
      'seq 50000; exit 3',
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  t.after(() => proc.kill('SIGKILL'));
  proc.stdout.pause(); // never read
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  assert.equal(code, 3);
});
