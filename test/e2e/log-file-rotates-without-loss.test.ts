import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SeqVerifier } from '../fixtures/seq-verify.ts';
import { tempDir } from './harness.ts';
import { runSeq, verifyFile } from './seq-run.ts';

test('a log file rotated by size holds every line, in order, in files under the limit', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.log');
  const max = 1024 * 1024;
  const count = 5000; // per stream, ~22 MB: about 20 files
  const run = runSeq(
    [
      '--log-file',
      file,
      '--log-file-only',
      '--log-file-max-size',
      String(max),
      '--log-file-keep',
      '100',
    ],
    ['--count', String(count)],
    'mixed',
  );
  t.after(() => run.proc.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr());
  // Nothing on stdout: the file is the only sink.
  assert.equal(run.others.length + run.garbage.length, 0);

  const rotated = readdirSync(dir)
    .filter((f) => f.startsWith('pillion.log.'))
    .map((f) => Number(f.slice('pillion.log.'.length)))
    .sort((a, b) => b - a);
  assert.ok(rotated.length >= 10, `rotated ${rotated.length} times`);
  // Oldest first: pillion.log.N … pillion.log.1, then pillion.log.
  const files = [...rotated.map((n) => `${file}.${n}`), file];
  const verifier = new SeqVerifier('mixed');
  const others = [];
  for (const f of files) {
    // Files are cut between lines: none is over the limit (no single line here is bigger).
    assert.ok(statSync(f).size <= max, `${f} is ${statSync(f).size} bytes`);
    const part = await verifyFile(f, 'mixed', verifier);
    assert.deepEqual(part.garbage, []);
    others.push(...part.others);
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = verifier.report(stream, count);
    assert.equal(rep.received, count, rep.examples.join('\n'));
    assert.equal(rep.lost + rep.duplicated + rep.reordered + rep.corrupted + rep.partial, 0);
  }
  assert.ok(others.some((l) => l.msg === 'logs closing'));
});

test('rotation keeps only the newest files', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'app.log');
  const run = runSeq(
    ['--log-file', file, '--log-file-only', '--log-file-max-size', '64K', '--log-file-keep', '2'],
    ['--count', '3000'],
    'small',
  );
  t.after(() => run.proc.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr());
  assert.deepEqual(readdirSync(dir).sort(), ['app.log', 'app.log.1', 'app.log.2']);
  // The newest lines are in the current file: it ends with Pillion's closing line.
  const last = await verifyFile(file, 'small');
  assert.equal(last.others.at(-1)?.msg, 'logs closing');
});
