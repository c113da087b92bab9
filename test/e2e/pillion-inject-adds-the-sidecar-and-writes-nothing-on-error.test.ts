// `pillion inject` through the real CLI: stdin to stdout, a directory to -o OUT, files in place
// with -i (again: unchanged), and on a bad document an error naming it, with every file left
// as it was.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BIN, tempDir } from './harness.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/inject/', import.meta.url));

function inject(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [BIN, 'inject', ...args], {
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('stdin to stdout: the golden output, and what was done on stderr', () => {
  const r = inject(
    ['--app-port', '8081'],
    readFileSync(join(FIXTURES, 'bare-pod-with-app-port.yaml'), 'utf8'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    readFileSync(join(FIXTURES, 'bare-pod-with-app-port.golden.yaml'), 'utf8'),
  );
  assert.match(
    r.stderr,
    /^\(stdin\): Pod tool: injected \(native sidecar, app port 8081 of 'tool'\)$/m,
  );
});

test('a directory to -o OUT, then -i in place twice: the second run changes nothing', () => {
  const dir = tempDir();
  for (const f of ['multi-container', 'own-init-containers'])
    copyFileSync(join(FIXTURES, `${f}.yaml`), join(dir, `${f}.yaml`));
  const out = join(dir, 'out.txt');
  const r = inject(['-f', dir, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');
  const golden = (f: string) => readFileSync(join(FIXTURES, `${f}.golden.yaml`), 'utf8');
  assert.equal(
    readFileSync(out, 'utf8'),
    `${golden('multi-container')}---\n${golden('own-init-containers')}`,
  );

  const first = inject([
    '-i',
    '-f',
    join(dir, 'multi-container.yaml'),
    '-f',
    join(dir, 'own-init-containers.yaml'),
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(readFileSync(join(dir, 'multi-container.yaml'), 'utf8'), golden('multi-container'));
  assert.equal(
    readFileSync(join(dir, 'own-init-containers.yaml'), 'utf8'),
    golden('own-init-containers'),
  );
  const again = inject(['-i', '-f', dir]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /DaemonSet agent: has Pillion already; unchanged/);
  assert.equal(readFileSync(join(dir, 'multi-container.yaml'), 'utf8'), golden('multi-container'));
});

test('a bad document anywhere: exit 1 naming it, and no file is written', () => {
  const dir = tempDir();
  const good = readFileSync(join(FIXTURES, 'list.yaml'), 'utf8');
  const bad =
    'apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nopod\nspec: {}\n';
  writeFileSync(join(dir, 'a.yaml'), good);
  writeFileSync(join(dir, 'b.yaml'), bad);
  for (const args of [
    ['-i', '-f', dir],
    ['-f', dir, '-o', join(dir, 'out.yaml')],
  ]) {
    const r = inject(args);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /b\.yaml: document 2 \(Deployment nopod\): spec\.template\.spec is missing or not a map/,
    );
    assert.equal(readFileSync(join(dir, 'a.yaml'), 'utf8'), good);
    assert.equal(readFileSync(join(dir, 'b.yaml'), 'utf8'), bad);
    assert.equal(existsSync(join(dir, 'out.yaml')), false);
  }
  const missing = inject(['-f', join(dir, 'nope.yaml')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read .*nope\.yaml \(ENOENT\); nothing was written/);
});

test('--help says how, and a mistake in the flags exits 2', () => {
  const help = inject(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: pillion inject \[-f FILE\|DIR\|-\]/);
  assert.match(help.stdout, /--classic/);
  const bad = inject(['-i']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /-i rewrites files; it cannot rewrite stdin/);
});
