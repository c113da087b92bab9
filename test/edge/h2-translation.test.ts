// B7: what RFC 9113 §8 forbids in an HTTP/2 request gets a stream error or a 4xx, and never
// reaches the app; what it allows reaches the app as one canonical HTTP/1.1 request.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { block, Flag, FrameType, frame, getFields, H2Raw } from './h2-crafter.ts';
import type { ParsedRequest } from './strict-parser.ts';

type Fields = [string, string][];
const post = (extra: Fields = []): Fields => [
  [':method', 'POST'],
  [':scheme', 'https'],
  [':authority', 'a.test'],
  [':path', '/p'],
  ...extra,
];

interface Case {
  name: string;
  fields: Fields;
  /** DATA payloads sent after HEADERS; the last one carries END_STREAM. */
  data?: string[];
}

const REFUSED: Case[] = [
  { name: 'uppercase name', fields: getFields('/', [['X-Upper', '1']]) },
  { name: 'connection', fields: getFields('/', [['connection', 'keep-alive']]) },
  { name: 'keep-alive', fields: getFields('/', [['keep-alive', 'timeout=5']]) },
  { name: 'proxy-connection', fields: getFields('/', [['proxy-connection', 'keep-alive']]) },
  { name: 'transfer-encoding', fields: getFields('/', [['transfer-encoding', 'chunked']]) },
  { name: 'upgrade', fields: getFields('/', [['upgrade', 'h2c']]) },
  { name: 'te other than trailers', fields: getFields('/', [['te', 'gzip']]) },
  {
    name: 'missing :method',
    fields: [
      [':scheme', 'https'],
      [':authority', 'a.test'],
      [':path', '/'],
    ],
  },
  {
    name: 'missing :path',
    fields: [
      [':method', 'GET'],
      [':scheme', 'https'],
      [':authority', 'a.test'],
    ],
  },
  {
    name: 'missing :scheme',
    fields: [
      [':method', 'GET'],
      [':authority', 'a.test'],
      [':path', '/'],
    ],
  },
  { name: 'duplicate :path', fields: [...getFields('/a'), [':path', '/b']] },
  { name: 'duplicate :method', fields: [[':method', 'POST'], ...getFields('/')] },
  { name: 'unknown pseudo-header', fields: getFields('/', [[':foo', 'x']]) },
  { name: 'response pseudo-header', fields: getFields('/', [[':status', '200']]) },
  { name: 'pseudo-header after a field', fields: [['x-a', '1'], ...getFields('/')] },
  { name: 'empty :path', fields: getFields('') },
  { name: ':path not starting with /', fields: getFields('x/y') },
  { name: ':path absolute-form', fields: getFields('http://evil.test/') },
  { name: ':path with a space', fields: getFields('/a b') },
  { name: 'Host differs from :authority', fields: getFields('/', [['host', 'evil.test']]) },
  {
    name: 'CONNECT',
    fields: [
      [':method', 'CONNECT'],
      [':authority', '127.0.0.1:22'],
    ],
  },
  {
    name: 'content-length over the DATA length',
    fields: post([['content-length', '10']]),
    data: ['abc'],
  },
  {
    name: 'content-length under the DATA length',
    fields: post([['content-length', '2']]),
    data: ['abc'],
  },
  { name: 'content-length not a number', fields: post([['content-length', 'x']]), data: ['a'] },
  {
    name: 'header list over 16 KiB',
    fields: getFields(
      '/',
      Array.from({ length: 20 }, (_, i): [string, string] => [`x-b${i}`, 'b'.repeat(900)]),
    ),
  },
  {
    name: 'more than 100 fields',
    fields: getFields(
      '/',
      Array.from({ length: 101 }, (_, i): [string, string] => [`x-n${i}`, String(i)]),
    ),
  },
];

/**
 * Fields with bytes RFC 9113 §8.2.1 forbids. nghttp2 (as Node configures it) drops such a field
 * and keeps the request, so each case passes if the stream is refused, or if the request reaches
 * the app without the field and nothing of its bytes.
 */
const BAD_FIELDS: Case[] = [
  { name: 'CR in a value', fields: getFields('/', [['x-bad', 'a\rb']]) },
  { name: 'LF in a value', fields: getFields('/', [['x-bad', 'a\nb']]) },
  { name: 'NUL in a value', fields: getFields('/', [['x-bad', 'a\x00b']]) },
  { name: 'CR LF smuggling a field', fields: getFields('/', [['x-bad', 'a\r\nHost: evil']]) },
  { name: 'NUL in a name', fields: getFields('/', [['x-bad\x00a', '1']]) },
  { name: 'space in a name', fields: getFields('/', [['x-bad a', '1']]) },
  { name: 'colon in a name', fields: getFields('/', [['x-bad:a', '1']]) },
  { name: 'empty name', fields: getFields('/', [['', 'x-bad']]) },
  { name: 'leading space in a value', fields: getFields('/', [['x-bad', ' 1']]) },
  { name: 'trailing tab in a value', fields: getFields('/', [['x-bad', '1\t']]) },
  { name: 'DEL in a name', fields: getFields('/', [['x-bad\x7f', '1']]) },
];

let edge: Edge;
before(async () => {
  edge = await startEdge();
});
after(() => edge.stop());

async function run(c: Case): Promise<{ h: H2Raw; out: { status?: number; reset?: number } }> {
  const h = await H2Raw.open(edge.port);
  const data = c.data ?? [];
  const frames = [
    frame(
      FrameType.HEADERS,
      Flag.END_HEADERS | (data.length === 0 ? Flag.END_STREAM : 0),
      1,
      block(c.fields),
    ),
    ...data.map((d, i) =>
      frame(FrameType.DATA, i === data.length - 1 ? Flag.END_STREAM : 0, 1, Buffer.from(d)),
    ),
  ];
  await h.send(Buffer.concat(frames));
  await h.until(() => {
    const o = h.outcome(1);
    return o.status !== undefined || o.reset !== undefined || h.goaway !== undefined;
  });
  return { h, out: h.outcome(1) };
}

for (const c of REFUSED) {
  test(`h2 ${c.name}: stream error, GOAWAY or 4xx, never forwarded`, async () => {
    edge.spy.reset();
    const { h, out } = await run(c);
    h.close();
    await edge.spy.quiet();
    const refused =
      out.reset !== undefined ||
      h.goaway !== undefined ||
      (out.status === undefined && h.closed) ||
      (out.status !== undefined && out.status >= 400 && out.status < 500);
    assert.ok(refused, `outcome ${JSON.stringify(out)} goaway ${JSON.stringify(h.goaway)}`);
    assert.equal(edge.spy.byteCount, 0, 'nothing reached the app');
  });
}

for (const c of BAD_FIELDS) {
  test(`h2 ${c.name}: refused, or forwarded without the field`, async () => {
    edge.spy.reset();
    const { h, out } = await run(c);
    h.close();
    await edge.spy.quiet();
    if (out.status === 200) {
      const [r] = edge.spy.requests;
      assert.ok(r);
      assert.equal(edge.spy.requests.length, 1);
      assert.deepEqual(r.violations, []);
      const raw = Buffer.concat(edge.spy.connections.flatMap((x) => x.bytes)).toString('latin1');
      assert.ok(!raw.includes('x-bad') && !raw.includes('evil'), 'the bad field is not forwarded');
    } else {
      assert.ok(out.reset !== undefined || h.goaway !== undefined || (out.status ?? 0) >= 400);
      assert.equal(edge.spy.byteCount, 0);
    }
  });
}

const field = (r: ParsedRequest, n: string): string[] =>
  r.headers.filter(([k]) => k === n).map(([, v]) => v);

test('an allowed h2 request becomes one canonical HTTP/1.1 request', async () => {
  edge.spy.reset();
  const { h, out } = await run({
    name: 'ok',
    fields: post([
      ['cookie', 'a=1'],
      ['cookie', 'b=2'],
      ['x_under', 'dropped'],
      ['te', 'trailers'],
      ['x-forwarded-for', '6.6.6.6'],
    ]),
    data: ['ab', 'cd'],
  });
  h.close();
  assert.equal(out.status, 200);
  const [r] = edge.spy.requests;
  assert.ok(r);
  assert.deepEqual(r.violations, []);
  assert.equal(r.method, 'POST');
  assert.equal(r.target, '/p');
  assert.deepEqual(field(r, 'host'), ['a.test']);
  assert.deepEqual(field(r, 'cookie'), ['a=1; b=2'], 'RFC 9113 §8.2.3: crumbs joined');
  assert.deepEqual(field(r, 'content-length'), ['4'], 'a length-less body gets its length');
  assert.deepEqual(field(r, 'x_under'), []);
  assert.deepEqual(field(r, 'te'), []);
  assert.deepEqual(field(r, 'x-forwarded-for'), ['127.0.0.1']);
  assert.equal(r.body.toString(), 'abcd');
  assert.equal(
    r.headers.some(([k]) => k.startsWith(':')),
    false,
  );
});
