// A changed egress.services applies live through the reload transaction: the app's next call
// goes to the new endpoint; a reload whose CA file cannot be read is refused and changes nothing.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makePki } from '../egress/certs.ts';
import { startUpstream } from '../egress/upstream.ts';
import { h1Request, startPillion } from './harness.ts';

const APP = fileURLToPath(new URL('../fixtures/egress-app.ts', import.meta.url));

test('egress services reload live, and a bad reload leaves the running ones', async (t) => {
  const pki = makePki();
  const one = await startUpstream('one', pki);
  const two = await startUpstream('two', pki);
  t.after(async () => {
    await one.close();
    await two.close();
  });
  const cfg = join(pki.dir, 'pillion.yaml');
  const write = (endpoint: string, ca: string) =>
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
        `      endpoints: [${endpoint}]`,
        `      tls: { ca: ${JSON.stringify(ca)} }`,
        '',
      ].join('\n'),
    );
  write(one.url, pki.caFile);
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const from = async () => JSON.parse((await h1Request(port, '/?to=/upstream/x')).body).from;
  assert.equal(await from(), 'one');

  write(two.url, pki.caFile);
  const applied = await p.waitForLog((l) => l.msg === 'config applied');
  assert.deepEqual(applied.fields, ['egress.services']);
  assert.equal(await from(), 'two');

  write(one.url, join(pki.dir, 'missing-ca.pem'));
  const rejected = await p.waitForLog((l) => l.msg.startsWith('config rejected'));
  assert.match(
    String(rejected.errors),
    /egress\.services\.upstream\.tls\.ca: cannot read .*missing-ca\.pem \(ENOENT\)/,
  );
  assert.equal(await from(), 'two');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('services added by a reload to a Pillion started without egress wait for the next start', async (t) => {
  const pki = makePki();
  const up = await startUpstream('later', pki);
  t.after(() => up.close());
  const cfg = join(pki.dir, 'pillion.yaml');
  const head = [
    'app:',
    `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(APP)}]`,
    'ingress:',
    '  listen: 127.0.0.1:0',
  ];
  writeFileSync(cfg, `${head.join('\n')}\n`);
  const p = startPillion(['run', '--config', cfg], { bin: true });
  t.after(() => p.kill());
  await p.ready();
  assert.equal((await p.waitForLog((l) => l.msg === 'egress url')).url, null);
  writeFileSync(
    cfg,
    [
      ...head,
      'egress:',
      '  listen: 127.0.0.1:0',
      '  services:',
      '    later:',
      `      endpoints: [${up.url}]`,
      '',
    ].join('\n'),
  );
  const warned = await p.waitForLog((l) =>
    l.msg.startsWith('config fields changed that apply only at the next start'),
  );
  assert.deepEqual(warned.fields, ['egress.listen', 'egress.services']);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  assert.equal(up.seen.length, 0);
});
