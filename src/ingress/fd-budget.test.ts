import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { connectionCap, openFileLimit } from './fd-budget.ts';

test('the cap keeps half of the open-file limit, less a reserve, for clients', () => {
  assert.equal(connectionCap(10_000, 4096), 2016);
  assert.equal(connectionCap(1_000, 4096), 1_000);
  assert.equal(connectionCap(10_000, 1_048_576), 10_000);
  assert.equal(connectionCap(10_000, 64), 1);
  assert.equal(connectionCap(10_000, undefined), 10_000);
});

test('the open-file limit is read from the process itself', () => {
  // A child under prlimit reports what prlimit set.
  const out = execFileSync(
    'prlimit',
    [
      '--nofile=1000:1000',
      '--',
      process.execPath,
      '--input-type=module',
      '-e',
      `import { openFileLimit } from ${JSON.stringify(new URL('./fd-budget.ts', import.meta.url).href)}; console.log(openFileLimit());`,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(out.trim(), '1000');
  assert.ok((openFileLimit() ?? 0) > 0);
});
