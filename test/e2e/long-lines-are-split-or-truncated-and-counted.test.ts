import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPillion } from './harness.ts';

// 100 KiB, a short line, 3 KiB, then an unterminated tail.
const APP = `
const w = (s) => require('node:fs').writeSync(1, s);
w('a'.repeat(100 * 1024) + '\\n');
w('short\\n');
w('b'.repeat(3 * 1024) + '\\n');
w('tail');
`;

for (const mode of ['split', 'truncate'] as const) {
  test(`--log-long-lines ${mode}: lines over --log-max-line are ${mode === 'split' ? 'split' : 'truncated'}, flagged and counted`, async (t) => {
    const p = startPillion([
      'run',
      '--listen',
      '127.0.0.1:0',
      '--log-max-line',
      '1K',
      '--log-long-lines',
      mode,
      '--',
      process.execPath,
      '-e',
      APP,
    ]);
    t.after(() => p.kill());
    assert.equal(await p.exited, 0, p.stderr());
    const app = p.lines.filter((l) => l.source === 'app');
    const closing = p.lines.find((l) => l.msg === 'logs closing');
    assert.ok(closing);
    assert.equal(closing.lines_partial, 1);
    assert.deepEqual(app.at(-1)?.msg, 'tail');
    assert.equal(app.at(-1)?.partial, true);
    if (mode === 'split') {
      // 100 pieces of 1 KiB, 'short', 3 pieces, 'tail'.
      assert.equal(app.length, 100 + 1 + 3 + 1);
      assert.equal(app.filter((l) => l.split === true).length, 99 + 2);
      assert.ok(app.every((l) => l.msg.length <= 1024));
      let joined = '';
      for (const l of app.slice(0, 100)) joined += l.msg;
      assert.equal(joined, 'a'.repeat(100 * 1024));
      assert.equal(closing.lines_split, 2);
      assert.equal(closing.lines_truncated, 0);
    } else {
      assert.deepEqual(
        app.map((l) => [l.msg.length, l.truncated ?? false]),
        [
          [1024, true],
          [5, false],
          [1024, true],
          [4, false],
        ],
      );
      assert.equal(closing.lines_truncated, 2);
      assert.equal(closing.lines_split, 0);
    }
  });
}
