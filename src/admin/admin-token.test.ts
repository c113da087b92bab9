import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminToken, bearerOf, sameSecret } from './admin-token.ts';

test('a generated token goes into the state dir, made if missing, 0600; a new one each start', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const state = join(dir, 'not', 'yet');
  const a = adminToken(undefined, state);
  assert.equal(a.file, join(state, 'admin-token'));
  assert.equal(statSync(a.file).mode & 0o777, 0o600);
  assert.equal(readFileSync(a.file, 'utf8'), `${a.token}\n`);
  assert.ok(a.token.length >= 40);
  assert.notEqual(adminToken(undefined, state).token, a.token);
});

test('a token file is read (first line); a missing or short one is a clear error', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = join(dir, 'token');
  writeFileSync(f, 'abcdefghijklmnopqrstuvwxyz\nsecond line\n');
  assert.equal(adminToken(f, dir).token, 'abcdefghijklmnopqrstuvwxyz');
  writeFileSync(f, 'short\n');
  assert.throws(() => adminToken(f, dir), { code: 'PILLION_ADMIN_TOKEN_UNREADABLE' });
  assert.throws(() => adminToken(join(dir, 'none'), dir), {
    code: 'PILLION_ADMIN_TOKEN_UNREADABLE',
    message: /admin\.token_file: cannot read .*none \(ENOENT\)/,
  });
});

test('only `Bearer TOKEN` exactly; the compare is of the whole value', () => {
  assert.equal(bearerOf('Bearer abc.DEF-_~+/='), 'abc.DEF-_~+/=');
  for (const h of [
    undefined,
    '',
    'Bearer',
    'Bearer ',
    'bearer abc',
    'Basic abc',
    'Bearer a b',
    'Bearer  abc',
  ])
    assert.equal(bearerOf(h), undefined, String(h));
  assert.equal(sameSecret('token-1', 'token-1'), true);
  assert.equal(sameSecret('token-1', 'token-2'), false);
  assert.equal(sameSecret('token-1', 'token-1x'), false);
  assert.equal(sameSecret('', 'token-1'), false);
});
