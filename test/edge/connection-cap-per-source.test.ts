// The opt-in per-source connection cap (ingress.limits.max_connections_per_source): one address
// cannot hold more than its share; other addresses are still served; a freed slot is reusable.
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { startEdge } from './edge-harness.ts';

/** A TLS connection from `source`: the socket once its handshake is done, or 'refused'. */
function tlsFrom(port: number, source: string): Promise<TLSSocket | 'refused'> {
  return new Promise((resolve) => {
    const s = connect({
      socket: tcpConnect({ host: '127.0.0.1', port, localAddress: source }),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', () => resolve('refused'));
    s.once('close', () => resolve('refused'));
  });
}

/** One HTTP/1.1 GET on an open TLS connection; the status code. */
function get(s: TLSSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m && text.includes('\r\n\r\n')) resolve(Number(m[1]));
    });
    s.once('error', reject);
    s.write('GET /per-source HTTP/1.1\r\nHost: a.test\r\n\r\n');
  });
}

test('past max_connections_per_source an address is refused at accept; others are served', async () => {
  const edge = await startEdge({ maxConnectionsPerSource: 5 });
  const open: TLSSocket[] = [];
  try {
    for (let i = 0; i < 5; i++) {
      const s = await tlsFrom(edge.port, '127.0.0.2');
      assert.notEqual(s, 'refused', `connection ${i + 1} of 5 is admitted`);
      open.push(s as TLSSocket);
    }
    for (let i = 0; i < 3; i++) {
      assert.equal(await tlsFrom(edge.port, '127.0.0.2'), 'refused', 'over the cap: refused');
    }
    assert.equal(edge.ingress.rejections.MAX_CONNECTIONS_PER_SOURCE, 3);

    // Another address is served while 127.0.0.2 is full.
    const other = await tlsFrom(edge.port, '127.0.0.3');
    assert.notEqual(other, 'refused');
    assert.equal(await get(other as TLSSocket), 200);
    (other as TLSSocket).destroy();

    // A connection of 127.0.0.2 that was admitted still works, and a closed one frees its slot.
    assert.equal(await get(open[0] as TLSSocket), 200);
    open.shift()?.destroy();
    // The slot is freed when Pillion sees the close: a bounded number of tries.
    let again: TLSSocket | 'refused' = 'refused';
    for (let i = 0; i < 50 && again === 'refused'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await tlsFrom(edge.port, '127.0.0.2');
    }
    assert.notEqual(again, 'refused', 'a freed slot is admitted again');
    open.push(again as TLSSocket);
  } finally {
    for (const s of open) s.destroy();
    await edge.stop();
  }
});

test('without max_connections_per_source one address may hold many connections', async () => {
  const edge = await startEdge();
  const open: TLSSocket[] = [];
  try {
    for (let i = 0; i < 20; i++) {
      const s = await tlsFrom(edge.port, '127.0.0.2');
      assert.notEqual(s, 'refused');
      open.push(s as TLSSocket);
    }
    assert.equal(edge.ingress.rejections.MAX_CONNECTIONS_PER_SOURCE, undefined);
  } finally {
    for (const s of open) s.destroy();
    await edge.stop();
  }
});
