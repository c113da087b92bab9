import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { upstreamHead } from '../ingress/head.ts';
import { clientRequestId, downstreamHeaders, upstreamHeaders } from './headers.ts';

const FWD = { remote: '203.0.113.7', host: 'app.example:8443', requestId: 'req-1' };

/** The headers Pillion always sets for FWD. */
const FORWARDING = {
  host: 'app.example:8443',
  'x-forwarded-for': '203.0.113.7',
  'x-forwarded-proto': 'https',
  'x-forwarded-host': 'app.example:8443',
  'x-request-id': 'req-1',
};

describe('upstreamHeaders', () => {
  test('for an HTTP/2 app, the authority goes in :authority and no Host is sent', () => {
    const src: IncomingHttpHeaders = { host: 'evil.example', te: 'trailers', 'grpc-timeout': '1S' };
    const { host: _host, ...rest } = FORWARDING;
    assert.deepEqual(upstreamHeaders(src, { ...FWD, h2: true }), {
      'grpc-timeout': '1S',
      ':authority': 'app.example:8443',
      ...rest,
    });
  });

  test('passes end-to-end headers through unchanged, arrays included', () => {
    const src: IncomingHttpHeaders = {
      accept: 'text/html',
      'content-type': 'application/json',
      'content-length': '12',
      cookie: 'a=1; b=2',
      'set-cookie': ['x=1', 'y=2'],
      authorization: 'Bearer t',
      'x-custom': 'v',
    };
    assert.deepEqual(upstreamHeaders(src, FWD), { ...src, ...FORWARDING });
  });

  test('drops every hop-by-hop header', () => {
    const src: IncomingHttpHeaders = {
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      trailer: 'x-checksum',
      'http2-settings': 'AAMAAABkAAQAAP__',
      accept: '*/*',
    };
    assert.deepEqual(upstreamHeaders(src, FWD), { accept: '*/*', ...FORWARDING });
  });

  test('drops HTTP/2 pseudo-headers', () => {
    const src: IncomingHttpHeaders = {
      ':method': 'GET',
      ':path': '/x',
      ':scheme': 'https',
      ':authority': 'app.example:8443',
      accept: '*/*',
    };
    assert.deepEqual(upstreamHeaders(src, FWD), { accept: '*/*', ...FORWARDING });
  });

  test('drops names listed in Connection, in any case and spacing', () => {
    const src: IncomingHttpHeaders = {
      connection: 'keep-alive, X-Secret ,x-other,,  ',
      'x-secret': 's',
      'x-other': 'o',
      'x-kept': 'k',
    };
    assert.deepEqual(upstreamHeaders(src, FWD), { 'x-kept': 'k', ...FORWARDING });
  });

  test('reads every Connection header when there are several', () => {
    const src = {
      connection: ['x-one', 'X-Two'],
      'x-one': '1',
      'x-two': '2',
      'x-three': '3',
    } as unknown as IncomingHttpHeaders;
    assert.deepEqual(upstreamHeaders(src, FWD), { 'x-three': '3', ...FORWARDING });
  });

  test('a Connection list never strips host or content-length', () => {
    const src: IncomingHttpHeaders = {
      connection: 'Host, Content-Length, Transfer-Encoding, x-gone',
      host: 'client.example',
      'content-length': '5',
      'x-gone': 'g',
    };
    const out = upstreamHeaders(src, FWD);
    assert.equal(out['content-length'], '5');
    assert.equal(out.host, FWD.host);
    assert.equal(out['x-gone'], undefined);
    assert.equal(out.connection, undefined);
  });

  test('replaces the client forwarding headers and request id, and drops Expect', () => {
    const src: IncomingHttpHeaders = {
      host: 'evil.example',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'evil.example',
      'x-request-id': 'client-chosen',
      expect: '100-continue',
      accept: '*/*',
    };
    assert.deepEqual(upstreamHeaders(src, FWD), { accept: '*/*', ...FORWARDING });
  });

  test('sets host and forwarding headers when the client sent none', () => {
    assert.deepEqual(upstreamHeaders({}, FWD), FORWARDING);
  });

  test('sets an IPv6 remote address as it is', () => {
    const out = upstreamHeaders({}, { ...FWD, remote: '2001:db8::1' });
    assert.equal(out['x-forwarded-for'], '2001:db8::1');
  });

  test('leaves the source headers untouched', () => {
    const src: IncomingHttpHeaders = { connection: 'x-a', 'x-a': '1', host: 'h' };
    const copy = structuredClone(src);
    upstreamHeaders(src, FWD);
    assert.deepEqual(src, copy);
  });

  test('X-Forwarded-For: replaced by default and with replace, appended to with append', () => {
    const rows: [IncomingHttpHeaders['x-forwarded-for'], string, string][] = [
      [undefined, '203.0.113.7', '203.0.113.7'],
      ['10.0.0.1', '203.0.113.7', '10.0.0.1, 203.0.113.7'],
      ['10.0.0.1,10.0.0.2', '203.0.113.7', '10.0.0.1, 10.0.0.2, 203.0.113.7'],
      [['10.0.0.1', '10.0.0.2'], '203.0.113.7', '10.0.0.1, 10.0.0.2, 203.0.113.7'],
      ['', '203.0.113.7', '203.0.113.7'],
      [' , 10.0.0.1 ,, ', '203.0.113.7', '10.0.0.1, 203.0.113.7'],
    ];
    for (const [given, replaced, appended] of rows) {
      const src = given === undefined ? {} : { 'x-forwarded-for': given as string };
      assert.equal(upstreamHeaders(src, FWD)['x-forwarded-for'], replaced);
      assert.equal(
        upstreamHeaders(src, { ...FWD, forwardedFor: 'replace' })['x-forwarded-for'],
        replaced,
      );
      assert.equal(
        upstreamHeaders(src, { ...FWD, forwardedFor: 'append' })['x-forwarded-for'],
        appended,
      );
    }
  });
});

describe('downstreamHeaders', () => {
  test('drops hop-by-hop headers and keeps the rest', () => {
    const src: IncomingHttpHeaders = {
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'close',
      te: 'trailers',
      'transfer-encoding': 'chunked',
      upgrade: 'h2c',
      trailer: 'x-checksum',
      'http2-settings': 'x',
      'content-type': 'text/plain',
      'content-length': '3',
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': 'from-app',
      'x-forwarded-for': 'kept on the way back',
    };
    assert.deepEqual(downstreamHeaders(src), {
      'content-type': 'text/plain',
      'content-length': '3',
      'set-cookie': ['a=1', 'b=2'],
      'x-request-id': 'from-app',
      'x-forwarded-for': 'kept on the way back',
    });
  });

  test('drops names listed in Connection but never content-length', () => {
    const src: IncomingHttpHeaders = {
      connection: 'X-Internal, content-length',
      'x-internal': 'secret',
      'content-length': '0',
      etag: '"1"',
    };
    assert.deepEqual(downstreamHeaders(src), { 'content-length': '0', etag: '"1"' });
  });

  test('returns an empty object for no headers', () => {
    assert.deepEqual(downstreamHeaders({}), {});
  });
});

describe('clientRequestId', () => {
  const accepted = [
    'a',
    'req-1',
    '0f8fad5b-d9cb-469f-a165-70867728950e',
    'trace_ID.v2',
    'svc:a@b/c+d=e',
    'Zm9vYmFy+/==',
    'x'.repeat(128),
  ];
  for (const id of accepted) {
    test(`keeps ${JSON.stringify(id.length > 40 ? `${id.slice(0, 8)}…(${id.length})` : id)}`, () => {
      assert.equal(clientRequestId({ 'x-request-id': id }), id);
    });
  }

  const rejected: [name: string, value: string | string[] | undefined][] = [
    ['absent', undefined],
    ['empty', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'a b'],
    ['a leading space', ' ab'],
    ['a tab', 'a\tb'],
    ['a CR', 'a\rb'],
    ['a LF', 'a\nb'],
    ['a trailing LF', 'ab\n'],
    ['a CRLF injection', 'ab\r\nx-admin: 1'],
    ['a NUL', 'a\0b'],
    ['a quote', 'a"b'],
    ['a comma (joined duplicates)', 'a,b'],
    ['a semicolon', 'a;b'],
    ['angle brackets', '<script>'],
    ['non-ASCII letters', 'réq'],
    ['an emoji', 'id😀'],
    ['an array', ['a', 'b']],
  ];
  for (const [name, value] of rejected) {
    test(`rejects ${name}`, () => {
      const headers = { 'x-request-id': value } as IncomingHttpHeaders;
      assert.equal(clientRequestId(headers), undefined);
    });
  }
});

describe('the client-certificate header', () => {
  const forged = { 'x-forwarded-client-cert': 'Hash=forged', 'x-client-id': 'forged', a: '1' };
  const raw = Object.entries(forged).flat();
  test('a client never sets it, with mTLS or without', () => {
    assert.deepEqual(upstreamHeaders(forged, FWD), {
      'x-client-id': 'forged',
      a: '1',
      ...FORWARDING,
    });
    const head = upstreamHead('GET', '/', raw, FWD, '');
    assert.match(head, /x-client-id: forged\r\n/); // another name is the app's own business
    assert.doesNotMatch(head, /x-forwarded-client-cert/);
  });
  test("with mTLS, the verified identity goes under the configured name, the client's removed", () => {
    const clientCert = { name: 'x-client-id', value: 'Hash=ab;Subject="CN=web"' };
    assert.deepEqual(upstreamHeaders(forged, { ...FWD, clientCert }), {
      a: '1',
      ...FORWARDING,
      'x-client-id': 'Hash=ab;Subject="CN=web"',
    });
    const head = upstreamHead('GET', '/', raw, { ...FWD, clientCert }, '');
    assert.equal(head.match(/x-client-id: /g)?.length, 1);
    assert.match(head, /x-client-id: Hash=ab;Subject="CN=web"\r\n/);
    assert.doesNotMatch(head, /forged/);
    // Without a certificate (optional mode): none at all.
    const anon = upstreamHead(
      'GET',
      '/',
      raw,
      { ...FWD, clientCert: { name: 'x-client-id', value: undefined } },
      '',
    );
    assert.doesNotMatch(anon, /x-client-id|forged/);
  });
});
