import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { type EchoReply, echoClient } from '../fixtures/grpc-app.ts';
import { startPillion } from './harness.ts';

const GRPC_APP = fileURLToPath(new URL('../fixtures/grpc-app.ts', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function startApp(port: number): Promise<ChildProcess> {
  const app = spawn(process.execPath, [GRPC_APP, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve) =>
    createInterface({ input: app.stdout as NonNullable<typeof app.stdout> }).once('line', () =>
      resolve(app),
    ),
  );
}

test('attached to an h2c app that goes down, a gRPC call ends UNAVAILABLE with a reason; once the app is back, calls pass on a new connection', async (t) => {
  const appPort = await freePort();
  let app = await startApp(appPort);
  t.after(() => app.kill('SIGKILL'));
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-port',
    String(appPort),
    '--app-protocol',
    'h2c',
    '--ready-timeout',
    '1',
    '--restart-window',
    '1',
    '--readiness-interval',
    '100ms',
  ]);
  t.after(() => p.kill());
  const listening = await p.waitForLog((l) => l.msg === 'ingress listening');
  await p.ready();
  const Echo = echoClient();
  const client = new Echo(
    `localhost:${listening.port}`,
    grpc.credentials.createSsl(readFileSync(String(listening.cert))),
  ) as unknown as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  t.after(() => client.close());
  const call = (text: string): Promise<{ err: grpc.ServiceError | null; reply?: EchoReply }> =>
    new Promise((resolve) => {
      client.Unary({ text }, (err: grpc.ServiceError | null, reply: EchoReply) =>
        resolve({ err, reply }),
      );
    });

  assert.equal((await call('before')).reply?.text, 'before');

  app.kill('SIGKILL');
  await new Promise((r) => app.once('exit', r));
  const down = await call('while down');
  assert.equal(down.err?.code, grpc.status.UNAVAILABLE);
  // Pillion's own reason, not the client library's guess from an HTTP status.
  assert.match(down.err?.details ?? '', /Service Unavailable|Bad Gateway/);
  const line = await p.waitForLog((l) => l.source === 'access' && l.grpc_status === 14);
  assert.equal(line.status, 200);
  assert.match(String(line.error), /PILLION_APP_(NOT_READY|UNREACHABLE|RESET)/);
  assert.equal(line.level, 'error');

  app = await startApp(appPort);
  // Held until the readiness probe sees the app again, then sent on a fresh session.
  assert.equal((await call('after')).reply?.text, 'after');
});
