// The bench's naive Node proxy: what a Node developer would write first. `https.createServer`
// in front, `http.request` through a keep-alive Agent behind, bodies piped both ways, hop-by-hop
// headers dropped (RFC 9110 §7.6.1), nothing else. With `log`, one access line per request goes
// to stdout, so it pays for a log as the other contenders do.
// Usage: node bench/node-naive.ts LISTEN_PORT UPSTREAM_PORT CERT KEY log|nolog
import { readFileSync } from 'node:fs';
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { createServer } from 'node:https';

const [listen, upstream, cert, key, log] = process.argv.slice(2);
if (!listen || !upstream || !cert || !key) {
  console.error('usage: node-naive.ts LISTEN_PORT UPSTREAM_PORT CERT KEY [log|nolog]');
  process.exit(2);
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
]);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
const logging = log === 'log';

const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  const remote = req.socket.remoteAddress;
  const up = request(
    {
      host: '127.0.0.1',
      port: Number(upstream),
      method: req.method,
      path: req.url,
      headers: endToEnd(req.headers),
      agent,
    },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, endToEnd(upRes.headers));
      upRes.pipe(res);
      if (logging) {
        res.once('finish', () => {
          process.stdout.write(
            `${remote} - - [${new Date().toISOString()}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${res.statusCode} ${upRes.headers['content-length'] ?? '-'}\n`,
          );
        });
      }
    },
  );
  up.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-length': '0' });
    res.end();
  });
  req.pipe(up);
});
server.keepAliveTimeout = 300_000;
server.listen(Number(listen), '127.0.0.1');
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
