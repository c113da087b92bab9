// The app reaches a TLS service through the egress port: the port is up before the app starts
// (its first call works), serves its requests (one access line each, marked egress), and stays
// up after SIGTERM until the app has exited (R4, R10).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makePki } from '../egress/certs.ts';
import { startUpstream } from '../egress/upstream.ts';
import { h1Request, startPillion } from './harness.ts';

const APP = fileURLToPath(new URL('../fixtures/egress-app.ts', import.meta.url));

test('the app calls a TLS service through the egress port from before it starts until it exits', async (t) => {
  const pki = makePki();
  const up = await startUpstream('users-1', pki);
  t.after(() => up.close());
  const cfg = join(pki.dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(APP)}]`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      'egress:',
      '  listen: 127.0.0.1:0',
      '  services:',
      '    upstream:',
      `      endpoints: [${up.url}]`,
      `      tls: { ca: ${JSON.stringify(pki.caFile)} }`,
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const url = await p.waitForLog((l) => l.msg === 'egress url');
  assert.match(String(url.url), /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.notEqual(url.url, 'http://127.0.0.1:14001');
  const atStart = await p.waitForLog((l) => l.msg === 'egress call at start');
  assert.equal(atStart.status, 200);

  const r = await h1Request(port, '/?to=/upstream/orders/7?x=1');
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), {
    from: 'users-1',
    method: 'GET',
    url: '/orders/7?x=1',
    body: '',
  });
  const unknown = await h1Request(port, '/?to=/nobody/x');
  assert.equal(unknown.status, 404);
  assert.match(unknown.body, /known services: upstream/);

  const egressLines = () => p.lines.filter((l) => l.source === 'egress-access');
  await p.waitForLog((l) => l.source === 'egress-access' && l.path === '/nobody/x');
  assert.deepEqual(
    egressLines().map((l) => [l.method, l.path, l.status]),
    [
      ['GET', '/upstream/at-start', 200],
      ['GET', '/upstream/orders/7?x=1', 200],
      ['GET', '/nobody/x', 404],
    ],
  );

  p.proc.kill('SIGTERM');
  const atStop = await p.waitForLog((l) => l.msg === 'egress call after SIGTERM');
  assert.equal(atStop.status, 200);
  assert.equal(await p.exited, 0);
  assert.deepEqual(
    up.seen.map((s) => s.url),
    ['/at-start', '/orders/7?x=1', '/at-stop'],
  );
});
