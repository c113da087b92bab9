// Ingress.prepare (the reload transaction's first phase) for {host, port, limits}: a new
// address is bound before the old listener closes, connections on the old one finish, new
// limits apply to new connections, and a bind failure leaves the running listener as it was.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, test } from 'node:test';
import { ErrorCode, PillionError } from '../../src/core/errors.ts';
import { startEdge } from './edge-harness.ts';
import { exchange, openH1 } from './raw-client.ts';

/** A port the OS hands out, held by a plain listener until released. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

const get = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`;

const refused = (port: number): Promise<boolean> =>
  openH1(port).then(
    (s) => {
      s.destroy();
      return false;
    },
    () => true,
  );

test('a new listen address is bound before the old closes; open connections finish; new limits apply to new connections', async () => {
  const edge = await startEdge();
  after(() => edge.stop());
  const oldPort = edge.port;
  const open = await exchange(oldPort);
  open.socket.write(get('/before'));
  assert.equal((await open.settle(1, 5000)).responses[0]?.status, 200);

  // The next port comes from the OS; it is free again when prepare binds it.
  const held = await holdPort();
  await new Promise((r) => held.server.close(r));
  const prepared = await edge.ingress.prepare({
    host: '127.0.0.1',
    port: held.port,
    limits: { maxUriBytes: 100 },
  });
  // Bound before the commit, and the old listener still takes new connections.
  assert.equal(await refused(held.port), false);
  assert.equal(await refused(oldPort), false);
  prepared.commit();
  assert.equal(edge.ingress.address?.port, held.port);

  // The old listener takes no new connection; the one open on it goes on, on its old limits.
  assert.equal(await refused(oldPort), true);
  open.socket.write(get(`/${'u'.repeat(200)}`));
  const r = await open.settle(2, 5000);
  assert.equal(r.responses[1]?.status, 200);
  await open.close();

  // A new connection on the new port has the new limits.
  const fresh = await exchange(held.port);
  fresh.socket.write(get(`/${'u'.repeat(200)}`));
  assert.equal((await fresh.settle(1, 5000)).responses[0]?.status, 414);
  await fresh.close();
  const ok = await exchange(held.port);
  ok.socket.write(get('/short'));
  assert.equal((await ok.settle(1, 5000)).responses[0]?.status, 200);
  await ok.close();
});

test('a bind failure aborts the reload and leaves the running listener untouched', async () => {
  const edge = await startEdge();
  after(() => edge.stop());
  const busy = await holdPort();
  after(() => busy.server.close());
  await assert.rejects(
    edge.ingress.prepare({ host: '127.0.0.1', port: busy.port, limits: { maxUriBytes: 100 } }),
    (err: unknown) => err instanceof PillionError && err.code === ErrorCode.LISTEN_FAILED,
  );
  assert.equal(edge.ingress.address?.port, edge.port);
  const x = await exchange(edge.port);
  x.socket.write(get(`/${'u'.repeat(200)}`));
  assert.equal((await x.settle(1, 5000)).responses[0]?.status, 200, 'old limits still in force');
  await x.close();
});

test('an aborted reload releases the port it bound', async () => {
  const edge = await startEdge();
  after(() => edge.stop());
  const held = await holdPort();
  await new Promise((r) => held.server.close(r));
  const prepared = await edge.ingress.prepare({ host: '127.0.0.1', port: held.port });
  await prepared.abort();
  assert.equal(await refused(held.port), true);
  assert.equal(edge.ingress.address?.port, edge.port);
  const x = await exchange(edge.port);
  x.socket.write(get('/still'));
  assert.equal((await x.settle(1, 5000)).responses[0]?.status, 200);
  await x.close();
});
