// The HTTPS port is bound before the app starts: with the port taken, Pillion exits 1 and the
// app never ran, so none of its side effects (a migration, here a marker file) happened.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, startPillion, tempDir } from './harness.ts';

test('with the HTTPS port in use, Pillion exits 1 and the app never ran', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const marker = join(tempDir(), 'migrated');
  // The app's first act is its side effect.
  const app = ['/bin/sh', '-c', `touch '${marker}' && exec "$0" "$@"`, ...APP_CMD];
  const p = startPillion(['run', '--listen', `127.0.0.1:${port}`, '--', ...app]);
  t.after(() => p.kill());
  assert.equal(await p.exited, 1);
  assert.match(p.stderr(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
  assert.equal(p.lines.find((l) => l.level === 'error')?.code, 'PILLION_LISTEN_FAILED');
  assert.equal(
    p.lines.some((l) => l.msg === 'app started'),
    false,
    'no app started',
  );
  assert.equal(existsSync(marker), false, 'the app never ran');
});
