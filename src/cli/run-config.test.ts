import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '../config/load.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { findConfigFile, resolveRunConfig } from './run.ts';

const ENV = { HOME: '/home/u' };

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-cfg-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const FULL = `app:
  command: [node, app.js]
  port: 3000
  stop_timeout: 5s
  ready_timeout: 2
  restart: always
  stop_signal: SIGQUIT
  readiness: { exec: [test, -e, "it's ready"] }
  config: { feature_x: true }
  secrets:
    api_key: { env: API_KEY }
ingress:
  listen: 127.0.0.1:9443
  tls: { cert: /tls/crt.pem, key: /tls/key.pem }
drain:
  delay: 2s
  timeout: 30s
state_dir: /srv/state
`;

describe('pillion run with a config file', () => {
  test('every field of the file reaches the RunConfig', () => {
    const dir = dirWith({ 'pillion.yaml': FULL });
    const { lifecycle, ...cfg } = resolveRunConfig([], ENV, dir) ?? {};
    assert.equal(lifecycle?.restart, 'always');
    assert.equal(lifecycle?.stopSignal, 'SIGQUIT');
    assert.equal(lifecycle?.drainDelayMs, 2000);
    // Each exec argument reaches /bin/sh quoted, an apostrophe included.
    assert.deepEqual(lifecycle?.readiness, {
      kind: 'exec',
      command: `'test' '-e' 'it'\\''s ready'`,
    });
    assert.deepEqual(cfg, {
      command: ['node', 'app.js'],
      listenHost: '127.0.0.1',
      listenPort: 9443,
      appPort: 3000,
      certFile: '/tls/crt.pem',
      keyFile: '/tls/key.pem',
      stateDir: '/srv/state',
      drainTimeoutMs: 30_000,
      stopTimeoutMs: 5_000,
      readyTimeoutMs: 2_000,
      configFile: 'pillion.yaml',
      appConfig: { feature_x: true },
      secrets: { api_key: { env: 'API_KEY' } },
      apiListen: undefined,
      restartOnChange: undefined,
    });
  });

  test('the logs section reads as the log flags, and a flag wins', () => {
    const dir = dirWith({
      'pillion.yaml': `app:\n  command: [x]\nlogs:\n  format: human\n  file: { path: /var/log/p.log, max_size: 10MiB, keep: 2 }\n  buffer: 64K\n  when_full: drop\n  otlp: { endpoint: "http://127.0.0.1:4318/v1/logs" }\n`,
    });
    const cfg = resolveRunConfig([], ENV, dir);
    assert.equal(cfg?.logs?.format, 'human');
    assert.deepEqual(cfg?.logs?.file, {
      path: '/var/log/p.log',
      maxBytes: 10 * 1024 ** 2,
      keep: 2,
    });
    assert.equal(cfg?.logs?.bufferBytes, 65_536);
    assert.equal(cfg?.logs?.whenFull, 'drop');
    assert.equal(cfg?.logs?.otlp?.endpoint, 'http://127.0.0.1:4318/v1/logs');
    const flagged = resolveRunConfig(
      ['--log-when-full', 'block', '--log-format', 'json'],
      ENV,
      dir,
    );
    assert.equal(flagged?.logs?.whenFull, 'block');
    assert.equal(flagged?.logs?.format, 'json');
  });

  test('ingress.limits reaches the RunConfig in bytes and milliseconds, only the fields set', () => {
    const dir = dirWith({
      'pillion.yaml': `app:\n  command: [x]\ningress:\n  limits:\n    max_header_bytes: 8KiB\n    max_headers: 50\n    max_body_bytes: 1MiB\n    upstream_timeout: 2s\n    underscore_headers: reject\n    max_connections_per_source: 20\n`,
    });
    assert.deepEqual(resolveRunConfig([], ENV, dir)?.limits, {
      maxHeaderBytes: 8192,
      maxHeaders: 50,
      maxBodyBytes: 1024 ** 2,
      maxConnectionsPerSource: 20,
      upstreamTimeoutMs: 2000,
      underscoreHeaders: 'reject',
    });
  });

  test('ingress.forwarded_for reaches the RunConfig, with or without ingress.limits', () => {
    const alone = dirWith({
      'pillion.yaml': 'app:\n  command: [x]\ningress:\n  forwarded_for: append\n',
    });
    assert.deepEqual(resolveRunConfig([], ENV, alone)?.limits, { forwardedFor: 'append' });
    const both = dirWith({
      'pillion.yaml':
        'app:\n  command: [x]\ningress:\n  forwarded_for: replace\n  limits:\n    max_headers: 50\n',
    });
    assert.deepEqual(resolveRunConfig([], ENV, both)?.limits, {
      maxHeaders: 50,
      forwardedFor: 'replace',
    });
    const none = dirWith({ 'pillion.yaml': 'app:\n  command: [x]\n' });
    assert.equal(resolveRunConfig([], ENV, none)?.limits, undefined);
  });

  test('app.protocol reaches the RunConfig, and --app-protocol wins', () => {
    const dir = dirWith({ 'pillion.yaml': 'app:\n  command: [x]\n  protocol: h2c\n' });
    assert.equal(resolveRunConfig([], ENV, dir)?.appProtocol, 'h2c');
    assert.equal(resolveRunConfig(['--app-protocol', 'http1'], ENV, dir)?.appProtocol, 'http1');
    const none = dirWith({ 'pillion.yaml': 'app:\n  command: [x]\n' });
    assert.equal(resolveRunConfig([], ENV, none)?.appProtocol, undefined);
  });

  test('every flag overrides its field of the file', () => {
    const dir = dirWith({ 'pillion.yaml': FULL });
    const cfg = resolveRunConfig(
      [
        '--listen=:1',
        '--app-port=2',
        '--cert=c',
        '--key=k',
        '--drain-timeout=3',
        '--stop-timeout=4',
        '--ready-timeout=5',
        '--state-dir=/d',
        '--',
        'other',
      ],
      ENV,
      dir,
    );
    assert.ok(cfg);
    assert.deepEqual(
      [
        cfg.command,
        cfg.listenHost,
        cfg.listenPort,
        cfg.appPort,
        cfg.certFile,
        cfg.keyFile,
        cfg.drainTimeoutMs,
        cfg.stopTimeoutMs,
        cfg.readyTimeoutMs,
        cfg.stateDir,
      ],
      [['other'], '0.0.0.0', 1, 2, 'c', 'k', 3000, 4000, 5000, '/d'],
    );
  });

  test('--config, then PILLION_CONFIG, then ./pillion.yaml', () => {
    const dir = dirWith({ 'pillion.yaml': 'app: { port: 1 }', 'a.yaml': 'app: { port: 2 }' });
    const b = join(dir, 'b.yaml');
    writeFileSync(b, 'app: { port: 3 }');
    assert.equal(
      resolveRunConfig(['--config', 'a.yaml'], { ...ENV, PILLION_CONFIG: b }, dir)?.appPort,
      2,
    );
    assert.equal(resolveRunConfig(['-c', 'a.yaml'], ENV, dir)?.appPort, 2);
    assert.equal(resolveRunConfig([], { ...ENV, PILLION_CONFIG: b }, dir)?.appPort, 3);
    assert.equal(resolveRunConfig([], ENV, dir)?.appPort, 1);
    assert.equal(findConfigFile(undefined, ENV, dirWith({})), undefined);
  });

  test('without a file, nothing of the config API is set', () => {
    const cfg = resolveRunConfig(['--', 'app'], ENV, dirWith({}));
    assert.ok(cfg);
    assert.equal('configFile' in cfg, false);
  });

  test('an invalid file fails before anything runs, naming every problem', () => {
    const dir = dirWith({ 'pillion.yaml': 'app:\n  port: x\ningress:\n  lisen: 1\n' });
    assert.throws(
      () => resolveRunConfig([], ENV, dir),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(
          err.message,
          "pillion.yaml:2:9: app.port: expected a whole number from 1 to 65535, got a string\npillion.yaml:4:3: ingress.lisen: unknown key; did you mean 'listen'?",
        );
        return true;
      },
    );
  });

  test('a missing --config file is PILLION_CONFIG_UNREADABLE', () => {
    assert.throws(
      () => resolveRunConfig(['--config', 'nope.yaml'], ENV, dirWith({})),
      (err: unknown) => err instanceof PillionError && err.code === ErrorCode.CONFIG_UNREADABLE,
    );
  });
});
