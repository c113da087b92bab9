// An HTTP/2 endpoint that resets a stream (RST_STREAM) after reading the request: the request
// may have been acted on, so an idempotent GET is sent once more, on a new stream, and a POST
// is answered 502 and never sent twice.
import assert from 'node:assert/strict';
import { constants, createSecureServer, type Http2SecureServer } from 'node:http2';
import { after, before, beforeEach, test } from 'node:test';
import { makePki, type TestPki } from './certs.ts';
import { config, type Running, startEgress } from './egress-harness.ts';

let pki: TestPki;
let h2: Http2SecureServer;
let eg: Running;
/** Streams the endpoint got, by method; the first of each test is reset. */
let streams: string[] = [];

before(async () => {
  pki = makePki();
  h2 = createSecureServer({ cert: pki.server.certPem, key: pki.server.keyPem });
  h2.on('stream', (stream, headers) => {
    streams.push(String(headers[':method']));
    // The reset is this server's own doing: its stream error is expected.
    stream.on('error', () => {});
    stream.resume();
    stream.once('end', () => {
      if (streams.length === 1) {
        stream.close(constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      stream.respond({ ':status': 200 });
      stream.end(`answered stream ${streams.length}`);
    });
  });
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()));
  const port = (h2.address() as { port: number }).port;
  eg = await startEgress(
    config(
      `h2svc:\n  endpoints: [https://127.0.0.1:${port}]\n  tls: { ca: ${pki.caFile} }\n  retry: { max_retries: 2, backoff: 1ms }`,
    ),
    pki.dir,
  );
});
beforeEach(() => {
  streams = [];
});
after(async () => {
  await eg.stop();
  await new Promise((r) => h2.close(r));
});

/** The access entry of the last request, once written (after the response is sent). */
async function lastEntry(n: number) {
  for (let i = 0; i < 200 && eg.access.length < n; i++) await new Promise((d) => setTimeout(d, 10));
  return eg.access.at(n - 1);
}

test('a GET whose stream is reset is retried once on a new stream and answered', async () => {
  const r = await fetch(`${eg.url}/h2svc/item`);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), 'answered stream 2');
  assert.deepEqual(streams, ['GET', 'GET']);
  const line = await lastEntry(1);
  assert.equal(line?.attempts, 2);
});

test('a POST whose stream is reset is answered 502 and not sent again', async () => {
  const r = await fetch(`${eg.url}/h2svc/pay`, { method: 'POST', body: 'once' });
  assert.equal(r.status, 502);
  assert.equal(r.headers.get('x-pillion-error'), 'PILLION_EGRESS_RESET');
  await r.text();
  assert.deepEqual(streams, ['POST']);
  const line = await lastEntry(2);
  assert.equal(line?.attempts, 1);
  assert.equal(line?.status, 502);
});
