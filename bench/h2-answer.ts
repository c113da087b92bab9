// For bench/grpc.ts: a bare Node HTTP/2 server answering every stream itself with a fixed
// gRPC reply and grpc-status 0 in trailers (core stream API). Over h2c it is the upstream both
// proxies forward to; over TLS it runs beside them as the floor of what Node's HTTP/2 server
// side costs. Usage: h2-answer.ts PORT REPLY [CERT KEY]
import { readFileSync } from 'node:fs';
import { createSecureServer, createServer, type ServerHttp2Stream } from 'node:http2';

const [port, reply, cert, key] = process.argv.slice(2);
const body = readFileSync(reply);
const server =
  cert && key
    ? createSecureServer({ cert: readFileSync(cert), key: readFileSync(key) })
    : createServer();
server.on('stream', (stream: ServerHttp2Stream) => {
  stream.on('error', () => {});
  // The request body is read whole before the answer, as a gRPC server does.
  stream.resume();
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.once('end', () => {
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc' },
      { waitForTrailers: true },
    );
    stream.end(body);
  });
});
server.listen(Number(port), '127.0.0.1');
