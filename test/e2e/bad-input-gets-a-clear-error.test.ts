import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP_CMD, alive, eventually, readEvents, startPillion, tempDir } from './harness.ts';

test('an unknown flag is a usage error naming it, exit 2', async () => {
  const p = startPillion(['run', '--bogus', '--', 'true']);
  assert.equal(await p.exited, 2);
  assert.match(p.stderr(), /--bogus/);
  assert.match(p.stderr(), /pillion run --help/);
});

test('a missing command is a usage error, exit 2', async () => {
  const p = startPillion(['run']);
  assert.equal(await p.exited, 2);
  assert.match(p.stderr(), /missing the app's command/);
});

test('a command that is not found exits 127 with a clear error', async () => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', 'no-such-command-pillion-test']);
  assert.equal(await p.exited, 127);
  assert.match(p.stderr(), /command not found: no-such-command-pillion-test/);
  const line = p.lines.find((l) => l.level === 'error');
  assert.equal(line?.code, 'PILLION_COMMAND_NOT_FOUND');
});

test('a command that is not executable exits 126', async () => {
  const file = join(tempDir(), 'not-executable.sh');
  writeFileSync(file, '#!/bin/sh\necho hi\n', { mode: 0o644 });
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', file]);
  assert.equal(await p.exited, 126);
  assert.match(p.stderr(), /permission denied/);
});

test('a port in use names the port, exits 1, and leaves no app running', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  const events = join(tempDir(), 'events');
  try {
    const p = startPillion(['run', '--listen', `127.0.0.1:${port}`, '--', ...APP_CMD], {
      env: { APP_EVENTS: events },
    });
    assert.equal(await p.exited, 1);
    assert.match(
      p.stderr(),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`),
    );
    const started = p.lines.find((l) => l.msg === 'app started');
    if (started)
      await eventually(() => !alive(Number(started.app_pid)), 15_000, 'the app to be gone');
    assert.equal(p.lines.find((l) => l.level === 'error' && l.code)?.code, 'PILLION_LISTEN_FAILED');
  } finally {
    blocker.close();
  }
});

test('an unreadable certificate names the file, exits 1, and starts no app', async () => {
  const dir = tempDir();
  const events = join(dir, 'events');
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--cert',
      join(dir, 'missing.crt'),
      '--key',
      join(dir, 'missing.key'),
      '--',
      ...APP_CMD,
    ],
    { env: { APP_EVENTS: events } },
  );
  assert.equal(await p.exited, 1);
  assert.match(p.stderr(), /--cert: ingress\.tls\.cert: cannot read .*missing\.crt \(ENOENT\)/);
  assert.equal(
    p.lines.some((l) => l.msg === 'app started'),
    false,
  );
  assert.deepEqual(readEvents(events), []);
});

test('a key that does not match the certificate is refused', async () => {
  const dir = tempDir();
  // Two generated pairs: the certificate of one with the key of the other.
  const a = startPillion(['run', '--app-port', '1', '--listen', '127.0.0.1:0'], {
    stateDir: join(dir, 'a'),
  });
  await a.port();
  a.proc.kill('SIGTERM');
  await a.exited;
  const b = startPillion(['run', '--app-port', '1', '--listen', '127.0.0.1:0'], {
    stateDir: join(dir, 'b'),
  });
  await b.port();
  b.proc.kill('SIGTERM');
  await b.exited;
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--cert',
    join(dir, 'a', 'tls', 'leaf.pem'),
    '--key',
    join(dir, 'b', 'tls', 'leaf.pem'),
    '--',
    'true',
  ]);
  assert.equal(await p.exited, 1);
  assert.match(p.stderr(), /is not the private key of/);
  assert.equal(p.lines.find((l) => l.level === 'error')?.code, 'PILLION_TLS_KEY_MISMATCH');
});
