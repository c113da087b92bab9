import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPillion } from './harness.ts';

test('an app that crashes right after writing loses no line, and its last unterminated line is kept', async (t) => {
  const n = 20_000;
  // Synchronous writes, then SIGKILL: nothing the app wrote may be lost.
  const script = `
    const fs = require('node:fs');
    for (let i = 0; i < ${n}; i++) fs.writeSync(i % 2 ? 2 : 1, 'line ' + i + ' ' + 'x'.repeat(i % 97) + '\\n');
    fs.writeSync(1, 'last words without newline');
    fs.writeSync(2, 'a very long line: ' + 'y'.repeat(200000) + '\\n');
    process.kill(process.pid, 'SIGKILL');`;
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--restart',
    'never',
    '--',
    process.execPath,
    '-e',
    script,
  ]);
  t.after(() => p.kill());
  assert.equal(await p.exited, 137);
  const app = p.lines.filter((l) => l.source === 'app');
  const numbered = app.filter((l) => l.msg.startsWith('line '));
  assert.equal(numbered.length, n);
  for (const stream of ['stdout', 'stderr']) {
    const seq = numbered.filter((l) => l.stream === stream).map((l) => Number(l.msg.split(' ')[1]));
    // Order is kept per stream, with no gap and no duplicate.
    const parity = stream === 'stdout' ? 0 : 1;
    assert.deepEqual(
      seq,
      Array.from({ length: n / 2 }, (_, i) => 2 * i + parity),
    );
  }
  for (const l of numbered) {
    const i = Number(l.msg.split(' ')[1]);
    assert.equal(l.msg, `line ${i} ${'x'.repeat(i % 97)}`);
  }
  const last = app.find((l) => l.msg === 'last words without newline');
  assert.equal(last?.partial, true);
  // 200,018 bytes: split into 64 KiB pieces, all but the last flagged.
  const long = app.filter(
    (l) =>
      l.stream === 'stderr' &&
      (l.split === true || l.msg.startsWith('yyy') || l.msg.startsWith('a very')),
  );
  assert.equal(long.length, 4);
  assert.deepEqual(
    long.map((l) => l.split === true),
    [true, true, true, false],
  );
  assert.equal(long.map((l) => l.msg).join(''), `a very long line: ${'y'.repeat(200000)}`);
});
