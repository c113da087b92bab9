import assert from 'node:assert/strict';
import { type ClientHttp2Session, createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { H2cPool } from './h2c-upstream.ts';

function h2cApp(port = 0): Promise<Http2Server> {
  const server = createServer((req, res) => res.end(`${req.url}\n`));
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

function acquire(pool: H2cPool, port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) =>
    pool.acquire({ host: '127.0.0.1', port }, (err, s) => (err || !s ? reject(err) : resolve(s))),
  );
}

function get(s: ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = s.request({ ':path': path });
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (c) => {
      body += c;
    });
    r.on('end', () => resolve(body));
    r.on('error', reject);
  });
}

test('one session serves many streams, and a new one is opened after the app restarts', async (t) => {
  let app = await h2cApp();
  const port = (app.address() as AddressInfo).port;
  const pool = new H2cPool();
  t.after(() => {
    pool.close();
    app.close();
  });
  const first = await acquire(pool, port);
  assert.equal(await get(first, '/a'), '/a\n');
  assert.equal(await acquire(pool, port), first);

  // The app goes away (its sessions closed with it) and comes back on the same port.
  await new Promise<void>((resolve) => {
    app.close(() => resolve());
    first.destroy();
  });
  app = await h2cApp(port);
  const second = await acquire(pool, port);
  assert.notEqual(second, first);
  assert.equal(await get(second, '/b'), '/b\n');
});

test('a refused connection is reported to every caller waiting on it', async () => {
  const app = await h2cApp();
  const port = (app.address() as AddressInfo).port;
  await new Promise<void>((resolve) => app.close(() => resolve()));
  const pool = new H2cPool();
  const errors = await Promise.all([
    acquire(pool, port).catch((e: NodeJS.ErrnoException) => e.code),
    acquire(pool, port).catch((e: NodeJS.ErrnoException) => e.code),
  ]);
  assert.deepEqual(errors, ['ECONNREFUSED', 'ECONNREFUSED']);
  pool.close();
});

test('quiescing closes idle sessions and keeps busy ones', async (t) => {
  const app = await h2cApp();
  const port = (app.address() as AddressInfo).port;
  const pool = new H2cPool();
  t.after(() => {
    pool.close();
    app.close();
  });
  const s = await acquire(pool, port);
  const entry = pool.opened(s);
  pool.closeIdle();
  assert.equal(s.closed, false);
  pool.closed(entry);
  pool.closeIdle();
  assert.equal(s.closed, true);
});
