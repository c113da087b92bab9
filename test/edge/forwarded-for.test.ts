// B2: a client's X-Forwarded-For is replaced (the default: never trusted) or, with
// `forwardedFor: 'append'`, kept with the peer address appended; over HTTP/1.1 and HTTP/2 alike.
// The value checked is the one the spy app received.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import type { ForwardedForMode } from '../../src/ingress/limits.ts';
import { type Edge, startEdge } from './edge-harness.ts';
import { exchange } from './raw-client.ts';

const PEER = '127.0.0.1';

interface Row {
  name: string;
  /** The client's X-Forwarded-For fields, in order. */
  sent: string[];
  replace: string;
  append: string;
}

const ROWS: Row[] = [
  { name: 'none', sent: [], replace: PEER, append: PEER },
  { name: 'one address', sent: ['6.6.6.6'], replace: PEER, append: `6.6.6.6, ${PEER}` },
  {
    name: 'a list',
    sent: ['6.6.6.6, 10.0.0.1'],
    replace: PEER,
    append: `6.6.6.6, 10.0.0.1, ${PEER}`,
  },
  {
    name: 'two fields',
    sent: ['6.6.6.6', '10.0.0.1'],
    replace: PEER,
    append: `6.6.6.6, 10.0.0.1, ${PEER}`,
  },
  { name: 'empty', sent: [''], replace: PEER, append: PEER },
  { name: 'stray commas', sent: [',6.6.6.6,,'], replace: PEER, append: `6.6.6.6, ${PEER}` },
];

/** The X-Forwarded-For values the app received for one HTTP/1.1 request. */
async function viaH1(edge: Edge, sent: string[]): Promise<string[]> {
  edge.spy.reset();
  const x = await exchange(edge.port);
  const fields = sent.map((v) => `X-Forwarded-For: ${v}\r\n`).join('');
  x.socket.write(`GET /xff HTTP/1.1\r\nHost: a.test\r\n${fields}\r\n`);
  const res = await x.settle(1, 2000);
  await x.close();
  await edge.spy.quiet();
  assert.equal(res.responses[0]?.status, 200);
  return xffOf(edge);
}

/** The same over HTTP/2, with Node's own client. */
async function viaH2(edge: Edge, sent: string[]): Promise<string[]> {
  edge.spy.reset();
  const session = h2connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  try {
    const headers: Record<string, string | string[]> = { ':path': '/xff' };
    if (sent.length > 0)
      headers['x-forwarded-for'] = sent.length === 1 ? (sent[0] as string) : sent;
    const stream = session.request(headers);
    const status = await new Promise<number>((resolve, reject) => {
      stream.on('response', (h) => resolve(Number(h[':status'])));
      stream.on('error', reject);
    });
    stream.resume();
    await new Promise((r) => stream.on('close', r));
    assert.equal(status, 200);
  } finally {
    session.close();
  }
  await edge.spy.quiet();
  return xffOf(edge);
}

function xffOf(edge: Edge): string[] {
  const [r, ...more] = edge.spy.requests;
  assert.ok(r);
  assert.equal(more.length, 0);
  assert.deepEqual(r.violations, []);
  return r.headers.filter(([k]) => k === 'x-forwarded-for').map(([, v]) => v);
}

for (const mode of [undefined, 'replace', 'append'] as (ForwardedForMode | undefined)[]) {
  describe(`forwardedFor: ${mode ?? 'default'}`, () => {
    let edge: Edge;
    before(async () => {
      edge = await startEdge(mode ? { forwardedFor: mode } : {});
    });
    after(() => edge.stop());
    test('a WebSocket upgrade request carries the same X-Forwarded-For', async () => {
      edge.spy.reset();
      const x = await exchange(edge.port);
      x.socket.write(
        'GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
          'X-Forwarded-For: 6.6.6.6\r\n\r\n',
      );
      await x.settle(1, 2000);
      await x.close();
      await edge.spy.quiet();
      assert.deepEqual(xffOf(edge), [mode === 'append' ? `6.6.6.6, ${PEER}` : PEER]);
    });
    for (const row of ROWS) {
      const want = mode === 'append' ? row.append : row.replace;
      test(`${row.name}: HTTP/1.1 and HTTP/2 both send ${JSON.stringify(want)}`, async () => {
        assert.deepEqual(await viaH1(edge, row.sent), [want]);
        assert.deepEqual(await viaH2(edge, row.sent), [want]);
      });
    }
  });
}
