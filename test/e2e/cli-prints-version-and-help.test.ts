import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { startPillion } from './harness.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

test('--version prints the package version', async () => {
  const p = startPillion(['--version']);
  assert.equal(await p.exited, 0);
  assert.deepEqual(
    p.lines.map((l) => l.msg),
    [`pillion ${pkg.version}`],
  );
});

test('--help and run --help describe the commands and flags', async () => {
  const main = startPillion(['--help']);
  assert.equal(await main.exited, 0);
  const mainText = main.lines.map((l) => l.msg).join('\n');
  assert.match(mainText, /pillion run \[flags\] -- CMD/);
  const run = startPillion(['run', '--help']);
  assert.equal(await run.exited, 0);
  const runText = run.lines.map((l) => l.msg).join('\n');
  for (const flag of [
    '--listen',
    '--app-port',
    '--cert',
    '--key',
    '--drain-timeout',
    '--stop-timeout',
    '--state-dir',
  ]) {
    assert.ok(runText.includes(flag), flag);
  }
});

test('an unknown command is a usage error', async () => {
  const p = startPillion(['frobnicate']);
  assert.equal(await p.exited, 2);
  assert.match(p.stderr(), /unknown command 'frobnicate'/);
});
