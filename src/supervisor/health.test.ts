import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type Server } from 'node:net';
import { after, test } from 'node:test';
import { runProbe } from './health.ts';

function listen(server: Server | ReturnType<typeof createServer>): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

test('runProbe against real servers: tcp, http status, exec exit code', async () => {
  const http = createServer((req, res) => {
    res.statusCode = req.url === '/ok' ? 200 : req.url === '/moved' ? 302 : 503;
    res.end();
  });
  const httpPort = await listen(http);
  const tcp = createTcpServer((s) => s.destroy());
  const tcpPort = await listen(tcp);
  after(() => {
    http.close();
    tcp.close();
  });
  // A port nothing listens on: a closed server's.
  const closed = createTcpServer();
  const closedPort = await listen(closed);
  await new Promise((r) => closed.close(r));

  const at = (port: number) => ({ host: '127.0.0.1', port });
  const cases: [Parameters<typeof runProbe>[0], number, boolean][] = [
    [{ kind: 'tcp' }, tcpPort, true],
    [{ kind: 'tcp' }, closedPort, false],
    [{ kind: 'http', path: '/ok' }, httpPort, true],
    [{ kind: 'http', path: '/moved' }, httpPort, true],
    [{ kind: 'http', path: '/down' }, httpPort, false],
    [{ kind: 'http', path: '/down', status: 503 }, httpPort, true],
    [{ kind: 'http', path: '/ok', status: 204 }, httpPort, false],
    [{ kind: 'http', path: '/ok' }, closedPort, false],
    [{ kind: 'exec', argv: ['sh', '-c', 'test "$PILLION_APP_PORT" = 4242'] }, 4242, true],
    [{ kind: 'exec', argv: ['false'] }, 4242, false],
    [{ kind: 'exec', argv: ['no-such-command-here'] }, 4242, false],
    // No shell: an argument with spaces and quotes reaches the command as one argument.
    [{ kind: 'exec', argv: ['test', "it's ready", '=', "it's ready"] }, 4242, true],
  ];
  for (const [probe, port, want] of cases) {
    assert.equal(await runProbe(probe, at(port), 2000), want, `${JSON.stringify(probe)} :${port}`);
  }
  // A check that outlives its timeout fails (and its process is killed).
  assert.equal(await runProbe({ kind: 'exec', argv: ['sleep', '5'] }, at(1), 100), false);
});
