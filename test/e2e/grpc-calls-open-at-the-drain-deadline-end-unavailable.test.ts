// A gRPC call still open when the drain deadline passes is ended by Pillion as the HTTP/1.1 path
// ends a request: a status the client can retry on (UNAVAILABLE, as a 503), never a reset that
// passes for the client's own, and an access line that says Pillion cut it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { type EchoRequest, echoClient } from '../fixtures/grpc-app.ts';
import { eventually, readEvents, startPillion, tempDir } from './harness.ts';

const GRPC_APP = fileURLToPath(new URL('../fixtures/grpc-app.ts', import.meta.url));

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

test('a gRPC call still open at the drain deadline ends UNAVAILABLE, logged as PILLION_DRAIN_TIMEOUT', async (t) => {
  const events = join(tempDir(), 'events');
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--app-protocol',
      'h2c',
      '--drain-timeout',
      '300ms',
      '--',
      process.execPath,
      GRPC_APP,
    ],
    { env: { APP_EVENTS: events } },
  );
  t.after(() => p.kill());
  const listening = await p.waitForLog((l) => l.msg === 'ingress listening');
  await p.ready();
  const ca = readFileSync(String(listening.local_ca));
  const Echo = echoClient();
  const client = new Echo(
    `localhost:${listening.port}`,
    grpc.credentials.createSsl(ca),
  ) as unknown as Client;
  t.after(() => client.close());
  const r: EchoRequest = {
    text: 'held',
    count: 0,
    fail_code: 0,
    fail_message: '',
    hang: true,
  };
  const status = new Promise<grpc.StatusObject>((resolve) => {
    const call = client.Unary(r, () => {}) as grpc.ClientUnaryCall;
    call.on('status', resolve);
  });
  await eventually(
    () => readEvents(events).some((e) => e.startsWith('started Unary held')),
    10_000,
    'call at the app',
  );
  p.proc.kill('SIGTERM');
  const got = await status;
  assert.equal(got.code, grpc.status.UNAVAILABLE);
  assert.match(got.details, /shutting down/);
  assert.equal(await p.exited, 0);
  assert.ok(p.lines.some((l) => l.msg === 'drain timeout: closing connections still open'));
  const line = p.lines.find((l) => l.source === 'access' && l.path === '/pillion.test.Echo/Unary');
  assert.equal(line?.status, 200);
  assert.equal(line?.grpc_status, grpc.status.UNAVAILABLE);
  assert.equal(line?.error, 'PILLION_DRAIN_TIMEOUT');
  assert.equal(line?.level, 'warn');
  // The app saw its stream cancelled, not left open.
  await eventually(
    () => readEvents(events).some((e) => e.startsWith('cancelled Unary held')),
    10_000,
    'cancel at the app',
  );
});
