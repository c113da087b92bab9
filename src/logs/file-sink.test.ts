import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { FileSink } from './file-sink.ts';

const root = mkdtempSync(join(tmpdir(), 'pillion-file-sink-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A path in a new empty directory. */
const fresh = (): string => {
  const dir = join(root, String(n++));
  mkdirSync(dir, { recursive: true });
  return join(dir, 'out.log');
};

describe('FileSink', () => {
  test('appends lines and rotates between lines, keeping the newest files', async () => {
    const path = fresh();
    writeFileSync(path, 'old\n');
    const sink = new FileSink({ path, maxBytes: 20, keep: 2 });
    for (let i = 0; i < 12; i++) sink.write(`line ${String(i).padStart(2, '0')}\n`);
    await sink.close();
    const dir = join(path, '..');
    assert.deepEqual(readdirSync(dir).sort(), ['out.log', 'out.log.1', 'out.log.2']);
    const all = [`${path}.2`, `${path}.1`, path].map((f) => readFileSync(f, 'utf8'));
    for (const text of all) {
      assert.ok(Buffer.byteLength(text) <= 20);
      assert.ok(text.endsWith('\n'));
    }
    // The three newest files hold the last lines, in order, each whole.
    const lines = all.join('').trimEnd().split('\n');
    assert.deepEqual(lines, ['line 06', 'line 07', 'line 08', 'line 09', 'line 10', 'line 11']);
  });

  test('a line longer than the limit gets a file of its own', async () => {
    const path = fresh();
    const sink = new FileSink({ path, maxBytes: 10, keep: 5 });
    sink.write('a\n');
    sink.write(`${'x'.repeat(30)}\nb\n`);
    await sink.close();
    assert.equal(readFileSync(`${path}.2`, 'utf8'), 'a\n');
    assert.equal(readFileSync(`${path}.1`, 'utf8'), `${'x'.repeat(30)}\n`);
    assert.equal(readFileSync(path, 'utf8'), 'b\n');
  });

  test('keep 0 starts over without keeping old files; maxBytes 0 never rotates', async () => {
    const path = fresh();
    const sink = new FileSink({ path, maxBytes: 8, keep: 0 });
    for (const l of ['aaaa\n', 'bbbb\n', 'cccc\n']) sink.write(l);
    await sink.close();
    assert.deepEqual(readdirSync(join(path, '..')), ['out.log']);
    assert.equal(readFileSync(path, 'utf8'), 'cccc\n');
    const p2 = fresh();
    const big = new FileSink({ path: p2, maxBytes: 0, keep: 3 });
    for (let i = 0; i < 100; i++) big.write('0123456789\n');
    await big.close();
    assert.equal(readFileSync(p2, 'utf8').length, 1100);
  });

  test('an unwritable path is PILLION_LOG_FILE_UNWRITABLE, naming the file', () => {
    const path = fresh();
    const dir = join(path, '..');
    chmodSync(dir, 0o500);
    const target = process.getuid?.() === 0 ? join(dir, 'missing', 'x.log') : join(dir, 'x.log');
    assert.throws(
      () => new FileSink({ path: target, maxBytes: 0, keep: 0 }),
      (err: unknown) =>
        err instanceof PillionError &&
        err.code === ErrorCode.LOG_FILE_UNWRITABLE &&
        err.message.includes(target),
    );
    chmodSync(dir, 0o700);
  });
});
