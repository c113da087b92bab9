// S8: per-run canaries planted in a secret file, the environment, app.config and invalid
// configs never show up in Pillion's stdout or stderr, in `pillion config`, `pillion validate`
// or reload rejections, nor in /metrics and the admin API, plain or base64-, URL- or
// hex-encoded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { adminRequest, scrape } from './admin-client.ts';
import { h1Request, MAIN, startPillion, tempDir } from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));

function canary(where: string): string {
  // '/', '+', '=' and a space make the encoded forms differ from the plain one.
  return `canary-${where}-${randomBytes(8).toString('hex')}/+= x`;
}

/** Every form of each canary that must not appear. */
function forms(secrets: string[]): string[] {
  return secrets.flatMap((s) => {
    const core = s.split('/')[0];
    return [
      s,
      core,
      encodeURIComponent(s),
      Buffer.from(s).toString('base64'),
      Buffer.from(s).toString('base64url'),
      Buffer.from(core).toString('base64').slice(0, 16),
      Buffer.from(s).toString('hex'),
      JSON.stringify(s).slice(1, -1),
    ];
  });
}

function assertClean(output: string, secrets: string[], where: string): void {
  for (const f of forms(secrets)) assert.equal(output.includes(f), false, `${where} holds ${f}`);
}

test('secrets planted in config, env and invalid configs never show in any output', async (t) => {
  const dir = tempDir();
  const inFile = canary('file');
  const inEnv = canary('env');
  const inUrl = canary('url');
  const inConfig = canary('config');
  const inInvalid = canary('invalid');
  const all = [inFile, inEnv, inUrl, inConfig, inInvalid];
  const env = { API_KEY: inEnv, DB_URL: `postgres://u:${inUrl}@db/x`, LEAKED: inInvalid };
  writeFileSync(join(dir, 'password'), inFile);
  const cfgFile = join(dir, 'pillion.yaml');
  const good = [
    'app:',
    `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
    '  config:',
    `    db_password: ${JSON.stringify(inConfig)}`,
    '    db_url: ${DB_URL}',
    '  secrets:',
    `    db_password: { file: ${JSON.stringify(join(dir, 'password'))} }`,
    '    api_key: { env: API_KEY }',
    'ingress:',
    '  listen: 127.0.0.1:0',
    '',
  ].join('\n');
  const invalids = [
    `${good}logs: { format: ${JSON.stringify(inInvalid)} }\n`,
    good.replace('  listen: 127.0.0.1:0', `  listen: ${JSON.stringify(inInvalid)}`),
    good.replace('ingress:', 'drain:\n  timeout: ${LEAKED}\ningress:'),
    good.replace('ingress:', `state_dir: [${JSON.stringify(inInvalid)}]\ningress:`),
    `${good}admin: { token: ${JSON.stringify(inInvalid)} }\n`,
    `${good}extra: "${inInvalid}\n`, // a YAML syntax error on a line holding the secret
    good.replace('  secrets:', `  secrets:\n    "${inInvalid}": { env: X }`),
  ];

  let output = '';
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, ...env },
      encoding: 'utf8',
    });
    output += r.stdout + r.stderr;
    return r.status;
  };

  // pillion config and validate, on the good file and each invalid one.
  writeFileSync(cfgFile, good);
  assert.equal(cli(['config']), 0);
  assert.equal(cli(['validate']), 0);
  for (const [i, text] of invalids.entries()) {
    const f = join(dir, `invalid-${i}.yaml`);
    writeFileSync(f, text);
    assert.equal(cli(['validate', f]), 1, `invalid ${i} is rejected`);
    assert.equal(cli(['config', f]), 1);
    assert.equal(cli(['run', '--config', f]), 1);
  }
  assertClean(output, all, 'CLI output');

  // A running Pillion: the app reads every secret; invalid reloads are rejected and logged.
  const p = startPillion(['run', '--config', cfgFile], { env });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  assert.equal((await h1Request(port, '/secret/db_password')).body, inFile);
  assert.equal((await h1Request(port, '/secret/api_key')).body, inEnv);
  assert.equal(JSON.parse((await h1Request(port, '/config')).body).db_url, env.DB_URL);
  for (const [i, text] of invalids.entries()) {
    writeFileSync(cfgFile, text);
    await p.waitForLog(
      (l) => l.msg.startsWith('config rejected') && l.rejected === i + 1,
      `rejection ${i + 1}`,
    );
  }
  // The admin surface: /metrics and every read of the API (the log tail included).
  const admin = await p.admin();
  let served = (await scrape(admin)).samples.map((x) => JSON.stringify(x)).join('\n');
  for (const path of ['status', 'stats', 'config', 'logs?n=5000']) {
    const r = await adminRequest(admin, `/api/v1/${path}`);
    assert.equal(r.status, 200, path);
    served += r.body;
  }
  assert.ok(served.includes('db_password'), 'the config is served, its secret redacted');
  assertClean(served, all, 'the admin API and /metrics');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const runOutput = p.lines.map((l) => JSON.stringify(l)).join('\n') + p.stderr();
  assert.ok(p.lines.some((l) => l.msg === 'secret read' && l.name === 'api_key'));
  assertClean(runOutput, all, 'pillion run output');
});
