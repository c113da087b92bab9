// B7, why Pillion cannot refuse an HTTP/2 field RFC 9113 §8.2.1 forbids: Node's http2 drops it
// before any JavaScript sees the request. Node registers nghttp2's invalid-header callback
// (Http2Session::OnInvalidHeader in src/node_http2.cc) and it returns 0 unconditionally, so
// nghttp2 ignores the field instead of resetting the stream; no option or event changes that.
// `strictFieldWhitespaceValidation` only decides whether whitespace at either end makes a field
// invalid (true, the default: dropped) or valid (false: passed on as sent). This test pins that
// behaviour on a bare Node server, so a Node that starts refusing such fields (or surfaces
// them) fails here, and Pillion's B7 handling (docs/edge.md) must be revisited.
import assert from 'node:assert/strict';
import { createSecureServer, type IncomingHttpHeaders } from 'node:http2';
import { test } from 'node:test';
import { selfSignedPair } from '../../src/ingress/self-signed.ts';
import { tempDir } from '../e2e/harness.ts';
import { block, Flag, FrameType, frame, getFields, H2Raw } from './h2-crafter.ts';

const BAD: [string, [string, string]][] = [
  ['CR in a value', ['x-bad', 'a\rb']],
  ['LF in a value', ['x-bad', 'a\nb']],
  ['NUL in a value', ['x-bad', 'a\x00b']],
  ['empty name', ['', 'x-bad']],
  ['space in a name', ['x-bad a', '1']],
  ['leading space in a value', ['x-bad', ' 1']],
  ['trailing tab in a value', ['x-bad', '1\t']],
];

async function serve(strict: boolean | undefined) {
  const tls = await selfSignedPair(tempDir());
  const seen: IncomingHttpHeaders[] = [];
  const srv = createSecureServer({
    cert: tls.cert,
    key: tls.key,
    ...(strict === undefined ? {} : { strictFieldWhitespaceValidation: strict }),
  });
  srv.on('stream', (s, h) => {
    seen.push(h);
    s.respond({ ':status': 200 });
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return { srv, seen, port };
}

async function send(port: number, field: [string, string]) {
  const h = await H2Raw.open(port);
  const fields = getFields('/', [field, ['x-ok', 'kept']]);
  await h.send(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, block(fields)));
  await h.until(() => {
    const o = h.outcome(1);
    return o.status !== undefined || o.reset !== undefined || h.closed;
  }, 5000);
  const out = h.outcome(1);
  h.close();
  return out;
}

test('Node serves a request whose malformed field it dropped, with no event to refuse it', async (t) => {
  const { srv, seen, port } = await serve(undefined);
  t.after(() => srv.close());
  for (const [name, field] of BAD) {
    seen.length = 0;
    const out = await send(port, field);
    assert.equal(
      out.status,
      200,
      `${name}: Node ${process.version} no longer serves it (${JSON.stringify(out)}): refuse B7 fields as a stream error now`,
    );
    assert.equal(seen.length, 1);
    assert.equal(seen[0]?.['x-ok'], 'kept');
    assert.equal(seen[0]?.['x-bad'], undefined, `${name}: the field is dropped`);
    assert.ok(!Object.keys(seen[0] ?? {}).includes('x-bad a'));
  }
});

test('strictFieldWhitespaceValidation: false would pass whitespace on; the default drops it', async (t) => {
  const lax = await serve(false);
  t.after(() => lax.srv.close());
  assert.equal((await send(lax.port, ['x-bad', ' 1'])).status, 200);
  assert.equal(lax.seen[0]?.['x-bad'], ' 1', 'passed on with its whitespace');
  const strict = await serve(true);
  t.after(() => strict.srv.close());
  assert.equal((await send(strict.port, ['x-bad', ' 1'])).status, 200);
  assert.equal(strict.seen[0]?.['x-bad'], undefined, 'dropped');
});
