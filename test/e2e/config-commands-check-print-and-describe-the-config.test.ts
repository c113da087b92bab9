// pillion validate, pillion config and pillion schema, run as the real CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Compile } from 'typebox/compile';
import { parse } from 'yaml';
import { MAIN, tempDir } from './harness.ts';

function pillion(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: cwd, ...env },
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('pillion validate', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'good.yaml'), 'app:\n  command: [node, app.js]\n');
  writeFileSync(join(dir, 'bad.yaml'), 'app:\n  port: x\ningress:\n  lisen: 1\n');
  writeFileSync(join(dir, 'pillion.yaml'), 'ingress:\n  listen: 0.0.0.0:8443\n');

  test('exits 0 on a valid file', () => {
    const r = pillion(['validate', 'good.yaml'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'good.yaml: valid\n');
  });

  test('exits 1 naming every problem at file:line:col', () => {
    const r = pillion(['validate', 'bad.yaml'], dir);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      "bad.yaml:2:9: app.port: expected a whole number from 1 to 65535, got a string\nbad.yaml:4:3: ingress.lisen: unknown key; did you mean 'listen'?\nbad.yaml: 2 problem(s)\n",
    );
  });

  test('finds ./pillion.yaml, and PILLION_CONFIG before it', () => {
    const r = pillion(['validate'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^pillion\.yaml: valid/);
    assert.equal(pillion(['validate'], dir, { PILLION_CONFIG: 'bad.yaml' }).code, 1);
  });

  test('exits 1 on a missing file', () => {
    const r = pillion(['validate', 'nope.yaml'], dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^nope\.yaml: cannot read the config file \(ENOENT\)/);
  });
});

describe('pillion config', () => {
  test('prints the effective config with defaults, secrets redacted', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'pillion.yaml'),
      'app:\n  command: [node, app.js]\n  config:\n    db_password: hunter2-canary\n    url: ${DB_URL}\n    feature_x: true\n',
    );
    const r = pillion(['config'], dir, { DB_URL: 'postgres://u:pw-canary@db/x' });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /canary/);
    const cfg = parse(r.stdout);
    assert.deepEqual(cfg.app.config, {
      db_password: '<redacted>',
      url: '<redacted>',
      feature_x: true,
    });
    assert.equal(cfg.ingress.listen, '0.0.0.0:8443');
    assert.equal(cfg.drain.timeout, '10s');
    assert.equal(cfg.app.stop_timeout, '10s');
  });

  test('prints what validates again: a log file, a password in a URL, a $ and the flags given', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'good.yaml'),
      'app:\n  config: { price: "$$5", sk_live_4eC39HqLyjWDarjtT1zdp7dc: true }\nlogs:\n  file: { path: p.log }\n  otlp: { endpoint: "${OTLP_URL}" }\n',
    );
    const env = { OTLP_URL: 'https://user:pw-canary@127.0.0.1:4318/v1/logs' };
    const r = pillion(['config', 'good.yaml', '--listen', '127.0.0.1:9443', '--', 'app'], dir, env);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /pw-canary|4eC39HqLyjWDarjtT1zdp7dc/);
    const cfg = parse(r.stdout);
    assert.equal(cfg.logs.otlp.endpoint, 'https://user:<redacted>@127.0.0.1:4318/v1/logs');
    assert.equal(cfg.logs.file.path, join(dir, 'p.log'));
    assert.equal(cfg.ingress.listen, '127.0.0.1:9443');
    assert.deepEqual(cfg.app.command, ['app']);
    writeFileSync(join(dir, 'eff.yaml'), r.stdout);
    const again = pillion(['validate', 'eff.yaml'], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'eff.yaml: valid\n');
    assert.equal(parse(pillion(['config', 'eff.yaml'], dir).stdout).app.config.price, '$$5');
  });

  test('names a flag given to it, as pillion run would', () => {
    const r = pillion(['validate', 'good.yaml', '--log-buffer', '1K'], tempDirWith());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^--log-buffer: logs\.buffer: expected a size of at least 65536 bytes/);
  });
});

function tempDirWith(): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'good.yaml'), 'app:\n  command: [node, app.js]\n');
  return dir;
}

describe('pillion schema', () => {
  test('prints a JSON Schema that accepts a valid config and rejects a bad one', () => {
    const r = pillion(['schema'], tempDir());
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout);
    assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
    const check = Compile(schema);
    assert.equal(check.Check({ app: { command: ['x'], port: 80 } }), true);
    assert.equal(check.Check({ app: { port: 'x' } }), false);
    assert.equal(check.Check({ aap: {} }), false);
    // The README's own environment reference passes in an editor; Pillion checks it expanded.
    assert.equal(check.Check({ ingress: { listen: '${LISTEN:-0.0.0.0:8443}' } }), true);
    assert.equal(check.Check({ ingress: { listen: 'no-port' } }), false);
  });
});
