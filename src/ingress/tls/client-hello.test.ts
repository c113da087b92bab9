import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { type ConnectionOptions, connect } from 'node:tls';
import { takesEcdsa } from './client-hello.ts';

/** The first bytes a real Node client sends with these options. */
async function hello(opts: ConnectionOptions): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) =>
      s.once('data', (b: Buffer) => {
        resolve(b);
        s.destroy();
      }),
    ),
  );
  const c = connect({ host: '127.0.0.1', port, servername: 'x.test', ...opts });
  c.on('error', () => {});
  const buf = await got;
  c.destroy();
  server.close();
  return buf;
}

test('an ECDSA scheme, with TLS 1.3 or an ECDHE-ECDSA suite, means the client takes ECDSA', async () => {
  assert.equal(takesEcdsa(await hello({})), true);
  assert.equal(takesEcdsa(await hello({ sigalgs: 'ECDSA+SHA256' })), true);
  assert.equal(takesEcdsa(await hello({ sigalgs: 'RSA-PSS+SHA256:RSA+SHA256' })), false);
  const tls12 = { maxVersion: 'TLSv1.2' } as const;
  assert.equal(
    takesEcdsa(await hello({ ...tls12, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })),
    false,
  );
  assert.equal(
    takesEcdsa(await hello({ ...tls12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })),
    true,
  );
});

test('a hello cut short or not a hello is taken as a modern client', async () => {
  const full = await hello({ sigalgs: 'RSA-PSS+SHA256:RSA+SHA256' });
  assert.equal(takesEcdsa(full.subarray(0, 60)), true);
  assert.equal(takesEcdsa(Buffer.from('GET / HTTP/1.1\r\n')), true);
  assert.equal(takesEcdsa(Buffer.alloc(0)), true);
});
