// For bench/grpc.ts: a bare Node HTTP/2 TLS server answering every stream itself with the
// fixed EchoReply and grpc-status 0 (core stream API, no proxying), to show what Node's HTTP/2
// server side alone costs per call. Usage: h2-answer.ts PORT CERT KEY REPLY
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';

const [port, cert, key, reply] = process.argv.slice(2);
const body = readFileSync(reply);
const server = createSecureServer({ cert: readFileSync(cert), key: readFileSync(key) });
server.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.resume();
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.end(body);
});
server.listen(Number(port), '127.0.0.1');
