import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { SinkOutput } from './output.ts';

/** A sink that holds every write until `release()`: a stalled destination. */
function stalled() {
  const chunks: string[] = [];
  const pending: (() => void)[] = [];
  const dest = new Writable({
    decodeStrings: false,
    highWaterMark: 16,
    write(chunk: string, _e, cb) {
      chunks.push(chunk);
      pending.push(cb);
    },
  });
  const release = (): void => {
    // Complete writes until the stream's queue is empty.
    while (pending.length > 0) pending.shift()?.();
  };
  return { dest, chunks, release, text: () => chunks.join('') };
}

const line = (i: number): string => `{"n":${i}}\n`;

describe('SinkOutput', () => {
  test('drop: lines for a full sink are dropped and counted exactly, then reported', async () => {
    const s = stalled();
    const out = new SinkOutput([
      { name: 'stdout', dest: s.dest, bufferBytes: 100, whenFull: 'drop' },
    ]);
    let written = 0;
    for (let i = 0; i < 50; i++) {
      // Drop never back-pressures: the app is never paused.
      assert.equal(out.writeWaiting(line(i) + line(i)), true);
      written += 2;
    }
    out.write(line(999));
    const dropped = out.stats.dropped.stdout;
    assert.ok(dropped > 0);
    assert.equal(out.stats.droppedApp.stdout, dropped - 1);
    // Let the writes complete over several turns; then there is room again.
    for (let i = 0; i < 20; i++) {
      s.release();
      await new Promise(setImmediate);
    }
    out.write(line(1000));
    for (let i = 0; i < 5; i++) {
      s.release();
      await new Promise(setImmediate);
    }
    const lines = s
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    const kept = lines.filter((l) => typeof l.n === 'number');
    assert.equal(kept.length + dropped, written + 2);
    const report = lines.find((l) => l.msg === 'log lines dropped: this sink was full');
    assert.ok(report);
    assert.equal(report.dropped, dropped);
    assert.equal(report.pillion_log_lines_dropped_total, dropped);
    assert.equal(out.stats.dropped.stdout, dropped);
    assert.equal(out.stats.droppedApp.stdout, dropped - 1);
  });

  test('block: the app is paused at the bound and never dropped; others get a headroom', async () => {
    const s = stalled();
    const out = new SinkOutput([
      { name: 'file', dest: s.dest, bufferBytes: 64, whenFull: 'block' },
    ]);
    let ok = true;
    let n = 0;
    while (ok) ok = out.writeWaiting(line(n++));
    assert.ok(s.dest.writableLength >= 64);
    // An app write past the bound is still kept (it is one read's worth at most).
    out.writeWaiting(line(n++));
    // Pillion's own lines fill the headroom (a quarter of the bound), then drop.
    for (let i = 0; i < 20; i++) out.write(line(1000 + i));
    assert.equal(out.stats.droppedApp.file, 0);
    assert.ok(out.stats.dropped.file > 0);
    let resumed = false;
    const waiting = out.whenWritable().then(() => {
      resumed = true;
    });
    await new Promise(setImmediate);
    assert.equal(resumed, false);
    for (let i = 0; i < 20 && !resumed; i++) {
      s.release();
      await new Promise(setImmediate);
    }
    await waiting;
    assert.equal(resumed, true);
    const got = s
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l).n as number);
    assert.deepEqual(
      got.filter((x) => x < 1000),
      Array.from({ length: n }, (_, i) => i),
    );
  });

  test('writes to every sink; one full drop sink does not hold back the others', async () => {
    const a = stalled();
    const b: string[] = [];
    const fast = new Writable({
      decodeStrings: false,
      write(chunk: string, _e, cb) {
        b.push(chunk);
        cb();
      },
    });
    const out = new SinkOutput([
      { name: 'otlp', dest: a.dest, bufferBytes: 32, whenFull: 'drop' },
      { name: 'stdout', dest: fast, bufferBytes: 1024, whenFull: 'block' },
    ]);
    for (let i = 0; i < 100; i++) assert.equal(out.writeWaiting(line(i)), true);
    assert.equal(b.join('').split('\n').length - 1, 100);
    assert.ok(out.stats.dropped.otlp > 0);
    assert.equal(out.stats.dropped.stdout, 0);
    // flush() waits for the stalled sink too, once it moves again.
    let flushed = false;
    const f = out.flush().then(() => {
      flushed = true;
    });
    await new Promise(setImmediate);
    assert.equal(flushed, false);
    for (let i = 0; i < 20 && !flushed; i++) {
      a.release();
      await new Promise(setImmediate);
    }
    await f;
  });

  test('a destroyed sink counts what it can no longer take', () => {
    const s = stalled();
    const out = new SinkOutput([
      { name: 'file', dest: s.dest, bufferBytes: 1024, whenFull: 'block' },
    ]);
    s.dest.destroy();
    out.writeWaiting(line(1) + line(2));
    assert.equal(out.stats.dropped.file, 2);
  });
});

test('block with a bound under the sink stream own highWaterMark still resumes', async () => {
  const { FileSink } = await import('./file-sink.ts');
  const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'pillion-output-'));
  try {
    const file = new FileSink({ path: join(dir, 'f.log'), maxBytes: 0, keep: 0 });
    // The file stream's highWaterMark is 256 KiB; the bound is far below it.
    const out = new SinkOutput([
      { name: 'file', dest: file, bufferBytes: 1024, whenFull: 'block' },
    ]);
    const big = `${'x'.repeat(100)}\n`.repeat(20);
    let paused = 0;
    for (let i = 0; i < 200; i++) {
      if (!out.writeWaiting(big)) {
        paused += 1;
        await out.whenWritable();
      }
    }
    assert.ok(paused > 0);
    await file.close();
    assert.equal(readFileSync(join(dir, 'f.log'), 'utf8').length, big.length * 200);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batching sink closed before the end of the turn counts the lines it held as dropped', async () => {
  const chunks: string[] = [];
  const dest = new Writable({
    decodeStrings: false,
    write(c: string, _e, cb) {
      chunks.push(c);
      cb();
    },
  });
  const out = new SinkOutput([
    { name: 'stdout', dest, bufferBytes: 1024, whenFull: 'block', batch: true },
  ]);
  out.write('{"n":1}\n{"n":2}\n');
  out.write('{"n":3}\n');
  // Held until the end of the turn: one write then.
  assert.deepEqual(chunks, []);
  await new Promise(setImmediate);
  assert.deepEqual(chunks, ['{"n":1}\n{"n":2}\n{"n":3}\n']);
  out.write('{"n":4}\n');
  dest.destroy();
  await new Promise(setImmediate);
  assert.equal(out.stats.dropped.stdout, 1);
  assert.equal(chunks.length, 1);
});
