import assert from 'node:assert/strict';
import { connect, constants, createServer, type ServerHttp2Stream } from 'node:http2';
import { test } from 'node:test';
import { H2Exchange } from './exchange.ts';

/**
 * A real HTTP/2 server and client on loopback: resolves with the server's stream once the
 * client's reset of it has arrived (its 'aborted' event).
 */
async function resetStream(): Promise<{ stream: ServerHttp2Stream; done: () => void }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect(`http://127.0.0.1:${port}`);
  client.on('error', () => {});
  const done = (): void => {
    client.destroy();
    server.close();
  };
  const stream = await new Promise<ServerHttp2Stream>((resolve) => {
    server.once('stream', (s) => {
      s.on('error', () => {});
      s.once('aborted', () => resolve(s));
    });
    const req = client.request({ ':method': 'POST', ':path': '/' }, { endStream: false });
    req.on('error', () => {});
    req.once('ready', () => req.close(constants.NGHTTP2_CANCEL));
  });
  return { stream, done };
}

// The proxy passes the app's response head on one turn after it arrived (proxy.ts); a client
// reset in between must not make respond() throw ERR_HTTP2_INVALID_STREAM (it once crashed
// Pillion).
test('an H2 exchange answering a stream the client has just reset sends nothing and does not throw', async () => {
  const { stream, done } = await resetStream();
  try {
    const ex = new H2Exchange(stream, { ':method': 'POST', ':path': '/' }, []);
    assert.doesNotThrow(() =>
      ex.respond(200, 'OK', ['content-type', 'text/plain'], -1, undefined, false),
    );
    assert.doesNotThrow(() => ex.fail(502, 'Bad Gateway'));
    assert.equal(stream.headersSent, false);
  } finally {
    done();
  }
});
