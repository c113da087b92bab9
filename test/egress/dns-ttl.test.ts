// An endpoint's host name is resolved per new connection, and a connection older than `dns_ttl`
// is not used again: after the TTL a changed address gets the requests, before it the old one
// keeps them. The name resolves through a lookup this test controls (the egress's resolver
// seam), to one loopback address and then another; the clock is the mocked Date, which is
// what the pool reads for a connection's age, so the test waits on no real time.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { LookupFunction } from 'node:net';
import { after, before, mock, test } from 'node:test';
import { config, type Running, startEgress } from './egress-harness.ts';

const NAME = 'billing.internal';
let address = '127.0.0.1';
const asked: string[] = [];

/** A lookup answering NAME with `address`, in either of the shapes net.connect asks for. */
const lookup = ((host: string, opts: { all?: boolean }, cb: (...a: unknown[]) => void) => {
  asked.push(host);
  if (host !== NAME) {
    cb(Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
    return;
  }
  if (opts.all) cb(null, [{ address, family: 4 }]);
  else cb(null, address, 4);
}) as unknown as LookupFunction;

const servers: Server[] = [];
function serve(name: string, host: string, port: number): Promise<number> {
  const srv = createServer((req, res) => {
    req.resume();
    res.end(name);
  });
  servers.push(srv);
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => resolve((srv.address() as { port: number }).port));
  });
}

let eg: Running;
let port: number;

before(async () => {
  // The same port on two loopback addresses: only the resolved address tells them apart.
  port = await serve('old', '127.0.0.1', 0);
  await serve('new', '127.0.0.2', port);
  mock.timers.enable({ apis: ['Date'], now: Date.now() });
  eg = await startEgress(
    config(`billing:\n  endpoints: [http://${NAME}:${port}]\n  dns_ttl: 30s`),
    process.cwd(),
    { lookup },
  );
});
after(async () => {
  await eg.stop();
  mock.timers.reset();
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const call = async (): Promise<string> => {
  const r = await fetch(`${eg.url}/billing/charge`);
  assert.equal(r.status, 200);
  return r.text();
};

test('a changed address is used once dns_ttl has passed, and not before', async () => {
  assert.equal(await call(), 'old');
  assert.deepEqual(asked, [NAME]);
  address = '127.0.0.2';
  // Within the TTL the connection made to the old address is kept and nothing is resolved.
  mock.timers.tick(29_000);
  assert.equal(await call(), 'old');
  assert.equal(await call(), 'old');
  assert.deepEqual(asked, [NAME]);
  // Past it, the old connection is dropped and the name resolved again for the next one.
  mock.timers.tick(2_000);
  assert.equal(await call(), 'new');
  assert.equal(await call(), 'new');
  assert.deepEqual(asked, [NAME, NAME]);
  assert.equal(eg.access.at(-1)?.upstream, `${NAME}:${port}`);
});
