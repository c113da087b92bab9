// B9: the header normaliser and serialiser (ingress/head.ts), fuzzed and read back by the
// tests' own strict parser. Property: whatever fields a client sends (any tokens, hop-by-hop
// names, Connection lists naming anything, cookies, X-Forwarded-For), the head Pillion writes
// is one canonical HTTP/1.1 message: one Host (Pillion's), no hop-by-hop or Connection-listed
// field, Pillion's own forwarding fields once each, every other field kept with its value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { connectionTokens, isHopByHop, isSetByPillion } from '../../src/http/headers.ts';
import { downstreamFields, upstreamHead } from '../../src/ingress/head.ts';
import { StrictRequestParser } from '../edge/strict-parser.ts';
import { fuzz, pathArb, tokenArb, valueArb } from './fuzz.ts';

const SPECIAL = [
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'upgrade',
  'proxy-connection',
  'host',
  'content-length',
  'cookie',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-request-id',
  'x_under',
  'Mixed-Case',
];
const nameArb = fc.oneof(tokenArb, fc.constantFrom(...SPECIAL));
const fieldsArb = fc.array(fc.tuple(nameArb, valueArb), { maxLength: 12 });
const connectionArb = fc.array(fc.oneof(nameArb, fc.constantFrom('close', 'host')), {
  maxLength: 4,
});

const input = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
  path: pathArb,
  fields: fieldsArb,
  connection: connectionArb,
  append: fc.boolean(),
  length: fc.option(fc.nat({ max: 100_000 }), { nil: undefined }),
});

test('the head sent to the app is one canonical message with the fields it should keep', async () => {
  await fuzz(
    'header normaliser and serialiser',
    input,
    (c) => {
      const raw = c.fields.flat();
      if (c.connection.length > 0) raw.push('Connection', c.connection.join(', '));
      const framing = c.length === undefined ? '' : `content-length: ${c.length}\r\n`;
      const head = upstreamHead(
        c.method,
        c.path,
        raw,
        {
          remote: '127.0.0.9',
          host: 'app.test',
          requestId: 'rid-1',
          forwardedFor: c.append ? 'append' : 'replace',
        },
        framing,
      );
      const parser = new StrictRequestParser();
      // A bodiless message; with a length, the body is not sent, so the parser waits for it.
      const msgs = parser.push(Buffer.from(head, 'latin1'));
      assert.equal(parser.fatal, undefined, head);
      if (c.length === undefined || c.length === 0) {
        assert.equal(msgs.length, 1, head);
        const [m] = msgs;
        assert.deepEqual(m?.violations, [], head);
        assert.equal(m?.method, c.method);
        assert.equal(m?.target, c.path);
      }
      const lines = head.split('\r\n').slice(1, -2);
      const names = lines.map((l) => l.slice(0, l.indexOf(':')));
      assert.equal(names.filter((n) => n === 'host').length, 1);
      assert.ok(lines.includes('host: app.test'));
      for (const own of [
        'x-forwarded-for',
        'x-forwarded-proto',
        'x-forwarded-host',
        'x-request-id',
      ])
        assert.equal(names.filter((n) => n === own).length, 1, `${own} once`);
      // Listed names are removed, but never Host, Content-Length and the like (B2).
      // Every Connection field counts, also one the fuzzer put among the fields.
      const connValues = [];
      for (let i = 0; i < raw.length; i += 2)
        if ((raw[i] as string).toLowerCase() === 'connection') connValues.push(raw[i + 1]);
      const listed = connectionTokens(connValues.join(', ')) ?? new Set<string>();
      for (const n of names) {
        assert.equal(n, n.toLowerCase());
        assert.ok(!isHopByHop(n) || n === 'transfer-encoding', `hop-by-hop ${n}`);
        if (!isSetByPillion(n) && n !== 'host' && n !== 'content-length' && n !== 'cookie')
          assert.ok(!listed.has(n), `Connection-listed ${n}`);
      }
      assert.ok(names.filter((n) => n === 'content-length').length <= 1);
      // Every ordinary field the client sent is there, with its value.
      for (const [name, value] of c.fields) {
        const n = name.toLowerCase();
        if (n === 'cookie' || n === 'host' || n === 'content-length' || n.includes('_')) continue;
        if (isHopByHop(n) || isSetByPillion(n) || listed.has(n)) continue;
        assert.ok(lines.includes(`${n}: ${value}`), `${n}: ${value} kept`);
      }
      const cookies = c.fields.filter(([n]) => n.toLowerCase() === 'cookie').map(([, v]) => v);
      if (cookies.length > 0) assert.ok(lines.includes(`cookie: ${cookies.join('; ')}`));
      // The response side: no framing or hop-by-hop field goes back to the client.
      for (let i = 0, out = downstreamFields(raw); i < out.length; i += 2) {
        const n = (out[i] as string).toLowerCase();
        assert.ok(n !== 'content-length' && !isHopByHop(n) && !listed.has(n), n);
      }
    },
    500,
  );
});
