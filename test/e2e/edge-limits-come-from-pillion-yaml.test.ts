import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, h1Request, readEvents, startPillion, tempDir } from './harness.ts';

test('ingress.limits in pillion.yaml: a long target gets 414, too many headers 431, neither reaches the app', async (t) => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const file = join(dir, 'pillion.yaml');
  writeFileSync(
    file,
    `app:\n  command: ${JSON.stringify(APP_CMD)}\ningress:\n  listen: 127.0.0.1:0\n  limits:\n    max_uri_bytes: 64\n    max_headers: 5\n`,
  );
  const p = startPillion(['run', '--config', file], { env: { APP_EVENTS: events } });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  assert.equal((await h1Request(port, `/${'a'.repeat(40)}`)).status, 200);
  assert.equal((await h1Request(port, `/${'b'.repeat(100)}`)).status, 414);
  const many: Record<string, string> = {};
  for (let i = 0; i < 8; i++) many[`x-h${i}`] = 'v';
  assert.equal((await h1Request(port, '/many', { headers: many })).status, 431);
  const seen = readEvents(events).filter((e) => e.startsWith('request '));
  assert.equal(seen.length, 1);
  assert.match(seen[0], /^request GET \/a+ /);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
