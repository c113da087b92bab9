import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changedFields } from './diff.ts';
import { resolveConfig } from './resolve.ts';

const tree = (text: string) =>
  resolveConfig({ file: 'p.yaml', text, env: { HOME: '/h' }, cwd: '/' }).tree;

test('each changed field is named by its path, with how it applies, from the schema', () => {
  const a = tree('app:\n  command: [a]\n  config: { x: 1 }\n');
  const b = tree(
    'app:\n  command: [b]\n  config: { x: 2 }\n  stop_timeout: 3s\nlogs: { format: human }\ningress:\n  tls: { cert: c, key: k }\n',
  );
  assert.deepEqual(changedFields(a, b), [
    { path: 'app.command', apply: 'app-restart' },
    { path: 'app.stop_timeout', apply: 'live' },
    { path: 'app.config', apply: 'live' },
    { path: 'ingress.tls.cert', apply: 'live' },
    { path: 'ingress.tls.key', apply: 'live' },
    { path: 'logs.format', apply: 'live' },
  ]);
  assert.deepEqual(changedFields(a, a), []);
});

test('a changed readiness check applies by restarting the app; its interval, live', () => {
  const a = tree('app:\n  readiness: { http: /a }\n');
  const b = tree('app:\n  readiness: { tcp: true, interval: 2s }\n');
  assert.deepEqual(changedFields(a, b), [
    { path: 'app.readiness.http', apply: 'app-restart' },
    { path: 'app.readiness.tcp', apply: 'app-restart' },
    { path: 'app.readiness.interval', apply: 'live' },
  ]);
});

test("a field a flag sets stays the flag's on reload: its change in the file is no change", () => {
  const run = { values: new Map([['drain-timeout', '5s']]), command: ['app'] };
  const at = (text: string) =>
    resolveConfig({ run, file: 'p.yaml', text, env: { HOME: '/h' }, cwd: '/' }).tree;
  const a = at('drain: { timeout: 1s }\n');
  const b = at('drain: { timeout: 2s }\napp: { config: 1 }\n');
  assert.deepEqual(changedFields(a, b), [{ path: 'app.config', apply: 'live' }]);
});
