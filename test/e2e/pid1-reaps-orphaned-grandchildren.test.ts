import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAIN, tempDir } from './harness.ts';

// Needs root, and a kernel and container that allow new PID namespaces.
const canUnshare =
  process.getuid?.() === 0 &&
  spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

/**
 * Runs Pillion as PID 1 of a new PID namespace. The app orphans 200 grandchildren that exit
 * after 0.2 s, waits 2 s, and writes the namespace's zombie count and PID 1's name.
 */
async function inNamespace(
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; zombies: number; init: string }> {
  const out = join(tempDir(), 'result');
  const script = [
    'for i in $(seq 200); do (sleep 0.2 &) ; done',
    'sleep 2',
    `ps -e -o stat= | grep -c '^Z' > ${out}.z`,
    `cat /proc/1/comm > ${out}.init`,
  ].join('; ');
  const proc = spawn(
    'unshare',
    [
      '--pid',
      '--fork',
      '--mount-proc',
      process.execPath,
      MAIN,
      'run',
      '--admin',
      '127.0.0.1:0',
      '--listen',
      '127.0.0.1:0',
      '--app-port',
      '1',
      '--restart',
      'never',
      '--',
      '/bin/sh',
      '-c',
      script,
    ],
    { env: { ...process.env, ...env, PILLION_STATE_DIR: tempDir() }, stdio: 'ignore' },
  );
  const code = await new Promise<number>((resolve) => proc.once('exit', (c) => resolve(c ?? 1)));
  return {
    code,
    zombies: Number(readFileSync(`${out}.z`, 'utf8').trim()),
    init: readFileSync(`${out}.init`, 'utf8').trim(),
  };
}

test('as PID 1 of a new PID namespace, Pillion re-executes under tini: 200 orphaned grandchildren leave 0 zombies', {
  skip: canUnshare ? false : 'needs root and unshare --pid --fork --mount-proc',
}, async (t) => {
  const shipped = await inNamespace({});
  assert.equal(shipped.init, 'tini');
  assert.equal(shipped.zombies, 0);
  assert.equal(shipped.code, 0);

  // Control: kept as PID 1 without an init, the same orphans stay zombies, so the count above
  // measures something.
  const bare = await inNamespace({ PILLION_NO_INIT: '1' });
  assert.notEqual(bare.init, 'tini');
  assert.ok(bare.zombies >= 150, `only ${bare.zombies} zombies without an init`);
  t.diagnostic(`zombies: ${shipped.zombies} under tini, ${bare.zombies} without an init`);
});
