// The bench's Pillion variants follow what the CLI of the checkout offers: a checkout whose
// `run --help` and `schema` show a way to turn the access log off, or `--workers`, gets those
// variants; one that does not gets them marked not available, with the reason.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { allContenders } from '../../bench/lib/contenders.ts';
import { probePillion } from '../../bench/lib/pillion-build.ts';

/** A checkout whose bin/pillion.js prints `help` for `run --help` and `schema` for `schema`. */
function checkout(help: string, schema: object): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-variants-'));
  mkdirSync(join(dir, 'bin'));
  writeFileSync(
    join(dir, 'bin', 'pillion.js'),
    `const a = process.argv.slice(2);
process.stdout.write(a[0] === 'schema' ? ${JSON.stringify(JSON.stringify(schema))} : ${JSON.stringify(help)});
`,
  );
  return dir;
}

const ctx = (runDir: string) => ({
  listen: 1,
  upstream: 2,
  cert: 'c',
  key: 'k',
  runDir,
  peerAccessLog: true,
});

test('a build with --workers and a logs.access switch gets both variants', (t) => {
  const dir = checkout('Flags:\n  --workers N   data-path workers\n', {
    properties: { logs: { properties: { access: { type: 'boolean' } } } },
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const byName = new Map(allContenders(probePillion(dir)).map((c) => [c.name, c]));
  const w2 = byName.get('pillion-w2');
  const nolog = byName.get('pillion-nolog');
  assert.ok(w2 && nolog);
  assert.equal(w2.unavailable, undefined);
  assert.equal(w2.placement, 'all');
  assert.deepEqual(w2.launch(ctx(dir)).args.slice(-2), ['--workers', '2']);
  assert.equal(nolog.unavailable, undefined);
  const args = nolog.launch(ctx(dir)).args;
  assert.deepEqual(args.slice(-2), ['--config', join(dir, 'pillion.yaml')]);
  assert.equal(readFileSync(join(dir, 'pillion.yaml'), 'utf8'), 'logs:\n  access: false\n');
});

test('a --no-access-log flag is used as it is', (t) => {
  const dir = checkout('  --no-access-log   write no access lines\n', {});
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nolog = allContenders(probePillion(dir)).find((c) => c.name === 'pillion-nolog');
  assert.deepEqual(nolog?.launch(ctx(dir)).args.at(-1), '--no-access-log');
});

test('a build without either marks both variants not available and says why', (t) => {
  const dir = checkout('  --access-log-format F  json (default), common or combined\n', {
    properties: { logs: { properties: { format: { type: 'string' } } } },
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const byName = new Map(allContenders(probePillion(dir)).map((c) => [c.name, c]));
  assert.match(
    byName.get('pillion-w2')?.unavailable ?? '',
    /not available in this build.*--workers/,
  );
  assert.match(
    byName.get('pillion-nolog')?.unavailable ?? '',
    /not available in this build.*access log/,
  );
  assert.equal(byName.get('pillion')?.unavailable, undefined);
});
