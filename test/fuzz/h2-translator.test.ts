// B9: the HTTP/2 → HTTP/1.1 translator, fuzzed through a real ingress in front of the spy app.
// Differential property: an HTTP/2 request with any method, path, fields (repeated names,
// cookie crumbs) and body reaches the app, as the strict parser reads it, as one canonical
// HTTP/1.1 message with the same method, target, fields (repeats kept in order, crumbs joined
// with "; ") and body.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { type Edge, startEdge } from '../edge/edge-harness.ts';
import { fuzz, pathArb, tokenArb, valueArb } from './fuzz.ts';

let edge: Edge;
before(async () => {
  edge = await startEdge();
});
after(() => edge.stop());

const reqArb = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'),
  path: pathArb,
  fields: fc.array(
    fc.tuple(
      tokenArb.map((t) => `x-f-${t}`),
      valueArb,
    ),
    { maxLength: 6 },
  ),
  cookies: fc.array(fc.stringMatching(/^[a-z]{1,6}=[a-z0-9]{0,8}$/), { maxLength: 3 }),
  body: fc.oneof(
    fc.constant(Buffer.alloc(0)),
    fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b)),
    fc.integer({ min: 65_537, max: 90_000 }).map((n) => Buffer.alloc(n, 0x62)),
  ),
});

test('an HTTP/2 request reaches the app as the same canonical HTTP/1.1 message', async () => {
  const session = connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  session.on('error', () => {});
  let n = 0;
  try {
    await fuzz(
      'h2 to h1 translator (differential)',
      reqArb,
      async (r) => {
        const id = `${++n}`;
        // A flat list, so repeated names stay separate fields in their order.
        const raw: string[] = [':method', r.method, ':path', r.path, ':scheme', 'https'];
        raw.push(':authority', 'app.test', 'x-seq', id);
        for (const [k, v] of r.fields) raw.push(k, v);
        for (const c of r.cookies) raw.push('cookie', c);
        const status = await new Promise<number>((resolve, reject) => {
          const s = session.request(raw as never, { endStream: r.body.length === 0 });
          s.on('response', (h) => resolve(Number(h[':status'])));
          s.on('error', reject);
          s.resume();
          if (r.body.length > 0) s.end(r.body);
        });
        assert.equal(status, 200);
        await edge.spy.quiet();
        const got = edge.spy.requests.filter((m) =>
          m.headers.some(([k, v]) => k === 'x-seq' && v === id),
        );
        assert.equal(got.length, 1, 'reached the app once');
        const m = got[0];
        assert.ok(m);
        assert.deepEqual(m.violations, [], m.violations.join('; '));
        assert.equal(m.method, r.method);
        assert.equal(m.target, r.path);
        assert.deepEqual(
          m.headers.filter(([k]) => k.startsWith('x-f-')),
          r.fields.map(([k, v]) => [k.toLowerCase(), v]),
        );
        const cookie = m.headers.filter(([k]) => k === 'cookie').map(([, v]) => v);
        assert.deepEqual(cookie, r.cookies.length ? [r.cookies.join('; ')] : []);
        assert.ok(
          m.body.equals(r.body),
          `body of ${r.body.length} bytes, got ${m.body.length} ${m.chunked} ${JSON.stringify(m.headers)}`,
        );
        assert.deepEqual(
          m.headers.filter(([k]) => k === 'host'),
          [['host', 'app.test']],
        );
      },
      40,
    );
  } finally {
    session.close();
  }
});
