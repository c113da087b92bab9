// Mistakes on the command line get Pillion's own words: a command without its `--`, a
// directory given as the command; and `pillion version` works as `--version` does.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPillion, tempDir } from './harness.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));

test('a command with dashes given without -- gets the line to type, exit 2', async () => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', 'python3', '-m', 'http.server']);
  assert.equal(await p.exited, 2);
  const [first, hint] = p.stderr().split('\n');
  assert.equal(
    first,
    "pillion: 'python3' is not a flag: the command of the app goes after --, as in: pillion run --listen 127.0.0.1:0 -- python3 -m http.server",
  );
  assert.equal(hint, "Run 'pillion run --help' for usage.");
  // Not Node's parser text (which had an unbalanced quote).
  assert.equal((first.match(/'/g) ?? []).length % 2, 0);
});

test('pillion version prints the version', async () => {
  const p = startPillion(['version']);
  assert.equal(await p.exited, 0);
  assert.deepEqual(
    p.lines.map((l) => l.msg),
    [`pillion ${pkg.version}`],
  );
});

test('a directory as the command says it is a directory, exit 126', async () => {
  const dir = join(tempDir(), 'app-dir');
  mkdirSync(dir);
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', dir]);
  assert.equal(await p.exited, 126);
  assert.match(p.stderr(), new RegExp(`${dir} is a directory; give the program inside it to run`));
  assert.doesNotMatch(p.stderr(), /chmod/);
});
