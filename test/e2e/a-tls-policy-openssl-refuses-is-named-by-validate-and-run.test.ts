// A cipher list OpenSSL cannot use is refused before anything runs: `pillion validate` and
// `pillion run` both name the file, line and column of the field, and the field; run's error
// line carries PILLION_TLS_POLICY_INVALID, and no app is started.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, configFile, startPillion } from './harness.ts';

test('a cipher list OpenSSL refuses is named by validate and by run, with file:line:col and field', async () => {
  const file = configFile([
    'ingress:',
    '  tls:',
    '    profile: intermediate',
    '    ciphers: NOT-A-CIPHER:NOR-THIS',
  ]);
  // Line 4, column 14: where the value starts.
  const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const named = new RegExp(
    `^${escaped}:4:14: ingress\\.tls\\.ciphers: OpenSSL refuses "NOT-A-CIPHER:NOR-THIS"`,
  );

  const v = startPillion(['validate', file]);
  assert.equal(await v.exited, 1);
  assert.match(v.stderr(), named);

  const r = startPillion(['run', '--config', file, '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  assert.equal(await r.exited, 1);
  const err = r.lines.find((l) => l.level === 'error');
  assert.equal(err?.code, 'PILLION_TLS_POLICY_INVALID');
  assert.match(String(err?.msg), named);
  assert.equal(
    r.lines.find((l) => l.msg === 'app started'),
    undefined,
  );
});
