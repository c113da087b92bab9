import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { contentKey, FileWatch } from './file-watch.ts';

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

test('a rename, a ..data symlink swap and an edit of the target are seen; other files are not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-fw-'));
  mkdirSync(join(dir, '..gen1'));
  writeFileSync(join(dir, '..gen1', 'tls.crt'), 'one');
  symlinkSync('..gen1', join(dir, '..data'));
  symlinkSync(join('..data', 'tls.crt'), join(dir, 'tls.crt'));
  const file = join(dir, 'tls.crt');
  const plain = join(dir, 'plain.key');
  writeFileSync(plain, 'k1');
  let calls = 0;
  // A poll far away: what is seen here comes from the directory watches.
  const w = new FileWatch({ changed: () => calls++, settleMs: 20, pollMs: 60_000 });
  w.watch([file, plain]);
  const key0 = contentKey([file, plain]);

  writeFileSync(join(dir, 'unrelated.log'), 'noise');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(calls, 0, 'another file in the directory is not a change');

  writeFileSync(`${plain}.tmp`, 'k2');
  renameSync(`${plain}.tmp`, plain);
  await until(() => calls > 0, 'the rename');
  const key1 = contentKey([file, plain]);
  assert.notEqual(key1, key0);

  calls = 0;
  mkdirSync(join(dir, '..gen2'));
  writeFileSync(join(dir, '..gen2', 'tls.crt'), 'two');
  symlinkSync('..gen2', join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  await until(() => calls > 0, 'the ..data swap');
  const key2 = contentKey([file, plain]);
  assert.notEqual(key2, key1);

  // The swap moved the target: its new directory is watched once rewatch looks again.
  w.rewatch();
  calls = 0;
  writeFileSync(join(dir, '..gen2', 'tls.crt'), 'three');
  await until(() => calls > 0, 'an edit of the new target');
  assert.notEqual(contentKey([file, plain]), key2);
  w.close();
});

test('the poll calls back without any event, and a missing file has a key of its own', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-fw-'));
  const file = join(dir, 'a');
  let calls = 0;
  const w = new FileWatch({ changed: () => calls++, pollMs: 30 });
  w.watch([file]);
  await until(() => calls >= 2, 'two polls');
  const missing = contentKey([file]);
  writeFileSync(file, '');
  assert.notEqual(contentKey([file]), missing);
  w.close();
  const after = calls;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(calls, after, 'closed: no more calls');
});
