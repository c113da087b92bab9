import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SecretStore } from './secret-store.ts';

test('a secret changed beside a file written every millisecond is still reported', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-secret-'));
  const file = join(dir, 'token');
  writeFileSync(file, 'one');
  const changed: string[] = [];
  const store = new SecretStore({}, (name) => changed.push(name));
  await store.init({ token: { file } });
  // A busy neighbour: each append is a directory event.
  const noisy = setInterval(() => appendFileSync(join(dir, 'app.log'), 'line\n'), 1);
  try {
    writeFileSync(`${file}.tmp`, 'two');
    renameSync(`${file}.tmp`, file);
    for (let i = 0; i < 500 && changed.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(changed, ['token']);
    assert.equal(String(await store.read('token')), 'two');
  } finally {
    clearInterval(noisy);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
