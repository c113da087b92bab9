import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { type EchoReply, echoClient } from '../fixtures/grpc-app.ts';
import { eventually, freePort, startPillion } from './harness.ts';

const GRPC_APP = fileURLToPath(new URL('../fixtures/grpc-app.ts', import.meta.url));

/** The promise, or a clear failure after `ms`. */
function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Resolves once the app listens; rejects, with its stderr, if it exits first or is silent. */
function startOnce(port: number): Promise<ChildProcess> {
  const app = spawn(process.execPath, [GRPC_APP, String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  app.stderr?.on('data', (c) => {
    err += c;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      app.kill('SIGKILL');
      reject(new Error(`the app did not listen on ${port} within 15 s; stderr: ${err}`));
    }, 15_000);
    app.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code ?? signal}) before listening on ${port}: ${err}`));
    });
    createInterface({ input: app.stdout as NonNullable<typeof app.stdout> }).once('line', () => {
      clearTimeout(timer);
      app.removeAllListeners('exit');
      resolve(app);
    });
  });
}

/**
 * The app comes back on the port it had: between its kill and its restart, a connection of a
 * test running alongside may take that port as its ephemeral source port (both come from the
 * same range), so a failed bind is tried again for a bounded while.
 */
async function startApp(port: number): Promise<ChildProcess> {
  const until = Date.now() + 20_000;
  for (;;) {
    try {
      return await startOnce(port);
    } catch (err) {
      if (!/EADDRINUSE/.test(String(err)) || Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
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
  const listening = await within(
    'ingress listening',
    30_000,
    p.waitForLog((l) => l.msg === 'ingress listening'),
  );
  await within('app ready', 30_000, p.ready());
  const Echo = echoClient();
  const client = new Echo(
    `localhost:${listening.port}`,
    grpc.credentials.createSsl(readFileSync(String(listening.local_ca))),
  ) as unknown as grpc.Client & Record<string, (...a: unknown[]) => unknown>;
  t.after(() => client.close());
  const call = (text: string): Promise<{ err: grpc.ServiceError | null; reply?: EchoReply }> =>
    new Promise((resolve) => {
      // A deadline, so a call that never ends fails the test with DEADLINE_EXCEEDED.
      client.Unary(
        { text },
        new grpc.Metadata(),
        { deadline: Date.now() + 15_000 },
        (err: grpc.ServiceError | null, reply: EchoReply) => resolve({ err, reply }),
      );
    });

  assert.equal((await call('before')).reply?.text, 'before');

  app.kill('SIGKILL');
  if (app.exitCode === null && app.signalCode === null)
    await new Promise((r) => app.once('exit', r));
  const down = await call('while down');
  assert.equal(down.err?.code, grpc.status.UNAVAILABLE);
  // Pillion's own reason, not the client library's guess from an HTTP status.
  assert.match(down.err?.details ?? '', /Service Unavailable|Bad Gateway/);
  const unavailable = () => p.lines.find((l) => l.source === 'access' && l.grpc_status === 14);
  await eventually(() => unavailable() !== undefined, 10_000, 'the UNAVAILABLE access line');
  const line = unavailable() as NonNullable<ReturnType<typeof unavailable>>;
  assert.equal(line.status, 200);
  assert.match(String(line.error), /PILLION_APP_(NOT_READY|UNREACHABLE|RESET)/);
  assert.equal(line.level, 'error');

  app = await startApp(appPort);
  // Held until the readiness probe sees the app again, then sent on a fresh session.
  assert.equal((await call('after')).reply?.text, 'after');
});
