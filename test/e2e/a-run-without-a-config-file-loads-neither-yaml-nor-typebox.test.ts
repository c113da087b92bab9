// Start-up time: `pillion run` with flags only serves from the schema's JSON (no typebox) and
// sets the flags into a document of its own (no yaml), and takes node:http without its ESM
// facade (which loads Node's bundled undici); the dashboard's bundle waits for its first page
// request (its 0.45 MiB of heap). A module on that path that imports one of them again shows
// up here; bench/startup.ts has the figures.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { APP_CMD, h1Request, startPillion, tempDir } from './harness.ts';

const HOOK = fileURLToPath(new URL('../fixtures/record-modules.mjs', import.meta.url));

test('a run with flags only loads neither yaml nor typebox, nor node:http by import, nor the dashboard', async () => {
  const record = join(tempDir(), 'modules.txt');
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], {
    bin: true,
    env: { NODE_OPTIONS: `--import=${HOOK}`, RECORD_MODULES: record },
  });
  try {
    const port = await p.port();
    await p.ready();
    assert.equal((await h1Request(port, '/')).status, 200);
    p.proc.kill('SIGTERM');
    assert.equal(await p.exited, 0);
    const loaded = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    // The recording works: Pillion's own modules are there.
    assert.ok(
      loaded.some((u) => u.endsWith('/src/sidecar.ts')),
      loaded.join('\n'),
    );
    assert.deepEqual(
      loaded.filter((u) =>
        /\/node_modules\/(yaml|typebox)\/|^node:https?$|\/src\/dashboard\/(index|bundle\.gen)\.ts$/.test(
          u,
        ),
      ),
      [],
    );
  } finally {
    p.kill();
  }
});
