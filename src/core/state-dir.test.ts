import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, PillionError } from './errors.ts';
import { ensureStateDir } from './state-dir.ts';

const refused = (dir: string, why: RegExp) =>
  assert.throws(
    () => ensureStateDir(dir, 'state_dir'),
    (err: unknown) =>
      err instanceof PillionError &&
      err.code === ErrorCode.STATE_DIR_UNWRITABLE &&
      err.message.startsWith(`state_dir: ${dir} cannot be used`) &&
      why.test(err.message),
  );

test('makes the missing levels, or checks without leaving anything behind', () => {
  const root = mkdtempSync(join(tmpdir(), 'pillion-state-'));
  ensureStateDir(join(root, 'a', 'b'), 'state_dir', false);
  assert.equal(existsSync(join(root, 'a')), false, 'the check made nothing that stays');
  ensureStateDir(join(root, 'a', 'b'), 'state_dir');
  assert.ok(statSync(join(root, 'a', 'b')).isDirectory());
});

test('refuses /proc (where a recursive mkdir loops) and a file in the way, at once', () => {
  refused('/proc/pillion-state-test/x', /ENOENT/);
  const root = mkdtempSync(join(tmpdir(), 'pillion-state-'));
  writeFileSync(join(root, 'f'), '');
  refused(join(root, 'f', 'x'), /a file is in the way/);
  refused(join(root, 'f'), /is not a directory/);
});
