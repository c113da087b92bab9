// A state directory Pillion cannot use ends it at once with its code, before the app runs:
// under /proc a recursive mkdir used to loop forever at 100% CPU with no output.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, startPillion, tempDir } from './harness.ts';

const dir = tempDir();
const inTheWay = join(dir, 'a-file');
writeFileSync(inTheWay, '');

for (const [what, stateDir, why] of [
  ['a path under /proc', '/proc/pillion-state-test', /\(ENOENT\)/],
  ['a file in the way', join(inTheWay, 'state'), /is not a directory/],
] as const) {
  test(`--state-dir on ${what}: exit 1 at once with PILLION_STATE_DIR_UNWRITABLE`, async (t) => {
    const marker = join(tempDir(), 'ran');
    const app = ['/bin/sh', '-c', `touch '${marker}' && exec "$0" "$@"`, ...APP_CMD];
    const p = startPillion([
      'run',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
      '--',
      ...app,
    ]);
    t.after(() => p.kill());
    assert.equal(await p.exited, 1);
    assert.match(p.stderr(), /--state-dir: state_dir: .* cannot be used as the state directory/);
    assert.match(p.stderr(), why);
    assert.equal(p.lines.find((l) => l.level === 'error')?.code, 'PILLION_STATE_DIR_UNWRITABLE');
    assert.equal(existsSync(marker), false, 'the app never ran');
  });
}
