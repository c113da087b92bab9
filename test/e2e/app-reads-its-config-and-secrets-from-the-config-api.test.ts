// S7: the app's config and secrets API, used by a real child app; rotation, watch, refusals.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, h1Request, startPillion, tempDir } from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));

/** A Kubernetes-style secret volume: files point through a `..data` symlink that is swapped. */
function secretVolume(dir: string, files: Record<string, string>, gen: number): void {
  const data = join(dir, `..gen${gen}`);
  mkdirSync(data);
  for (const [name, value] of Object.entries(files)) writeFileSync(join(data, name), value);
  symlinkSync(`..gen${gen}`, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // Already links through ..data.
    }
  }
}

function apiGet(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a real app reads its config and secrets, hears of changes, and others are refused', async (t) => {
  const dir = tempDir();
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets);
  secretVolume(secrets, { password: 'pw-one' }, 1);
  const cfgFile = join(dir, 'pillion.yaml');
  const yaml = (feature: boolean) =>
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
      `  config: { feature_x: ${feature}, greeting: hello }`,
      '  secrets:',
      `    db_password: { file: ${JSON.stringify(join(secrets, 'password'))} }`,
      '    api_key: { env: API_KEY }',
      'ingress:',
      '  listen: 127.0.0.1:0',
    ].join('\n');
  writeFileSync(cfgFile, yaml(true));
  const p = startPillion(['run', '--config', cfgFile], { env: { API_KEY: 'key-from-env' } });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  // The app reads its config and both kinds of secret through the API.
  assert.deepEqual(JSON.parse((await h1Request(port, '/config')).body), {
    feature_x: true,
    greeting: 'hello',
  });
  assert.equal((await h1Request(port, '/secret/db_password')).body, 'pw-one');
  assert.equal((await h1Request(port, '/secret/api_key')).body, 'key-from-env');
  assert.equal((await h1Request(port, '/secret/nope')).status, 404);

  // A secret rotated on disk by a symlink swap: the app is told, and reads the new value.
  secretVolume(secrets, { password: 'pw-two' }, 2);
  await eventually(
    () => p.lines.some((l) => l.msg === 'secret changed' && l.name === 'db_password'),
    10_000,
    'secret change event',
  );
  assert.equal((await h1Request(port, '/secret/db_password')).body, 'pw-two');

  // The config edited: reloaded, the app hears of it on its watch stream.
  writeFileSync(cfgFile, yaml(false));
  await p.waitForLog((l) => l.msg === 'config reloaded', 'config reloaded');
  assert.deepEqual(JSON.parse((await h1Request(port, '/config')).body), {
    feature_x: false,
    greeting: 'hello',
  });
  let events: { event: string; data: { name?: string } }[] = [];
  for (let i = 0; i < 200 && !events.some((e) => e.event === 'config'); i++) {
    await new Promise((r) => setTimeout(r, 50));
    events = JSON.parse((await h1Request(port, '/events')).body);
  }
  assert.ok(
    events.some((e) => e.event === 'config'),
    'config event at the app',
  );
  assert.ok(events.some((e) => e.event === 'secret' && e.data.name === 'db_password'));

  // Requests not from the app, or not as the API wants them, are refused.
  const { url, token } = JSON.parse((await h1Request(port, '/api')).body);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const auth = { authorization: `Bearer ${token}` };
  const cases: [what: string, path: string, headers: Record<string, string>, status: number][] = [
    ['the token', '/v1/config', auth, 200],
    ['no token', '/v1/config', {}, 401],
    ['a wrong token', '/v1/config', { authorization: `Bearer ${token}x` }, 401],
    ['a cookie instead of the header', '/v1/config', { cookie: `token=${token}` }, 401],
    ['the token in the query', `/v1/config?token=${token}`, {}, 400],
    ['a query with the header too', `/v1/config?token=${token}`, auth, 400],
    ['X-Forwarded-For', '/v1/config', { ...auth, 'x-forwarded-for': '10.0.0.1' }, 403],
    ['Via', '/v1/secrets/api_key', { ...auth, via: '1.1 proxy' }, 403],
    ['Forwarded', '/v1/config', { ...auth, forwarded: 'for=10.0.0.1' }, 403],
    ['an unknown path', '/v1/other', auth, 404],
  ];
  for (const [what, path, headers, status] of cases) {
    const r = await apiGet(url, path, headers);
    assert.equal(r.status, status, what);
    assert.equal(r.headers['cache-control'], 'no-store', what);
    assert.doesNotMatch(r.body, /pw-|key-from-env/, what);
  }

  // Reads are logged by name, never with the value.
  const reads = p.lines.filter((l) => l.msg === 'secret read');
  assert.ok(reads.some((l) => l.name === 'db_password' && l.from === 'file'));
  assert.ok(reads.some((l) => l.name === 'api_key' && l.from === 'env'));
  const all = p.lines.map((l) => JSON.stringify(l)).join('\n') + p.stderr();
  assert.doesNotMatch(all, /pw-one|pw-two|key-from-env/);
  assert.doesNotMatch(all, new RegExp(token));

  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
