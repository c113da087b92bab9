// The worker pool with its real worker processes and a real upstream, driven directly (no
// supervisor): readiness as the pool relays it, counters summed over the workers, and a stop
// that leaves no worker behind.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { Agent, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { loadTlsMaterial } from '../../src/ingress/tls/material.ts';
import { WorkerPool } from '../../src/workers/index.ts';
import { alive, eventually, tempDir } from '../e2e/harness.ts';

const ENTRY = fileURLToPath(new URL('../../src/worker-main.ts', import.meta.url));

function get(port: number, agent: Agent, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, agent, rejectUnauthorized: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('a pool of 2 holds requests until the relayed state is ready, sums both workers’ counters, and stops both', async (t) => {
  let appSeen = 0;
  const app = createServer((_req, res) => {
    appSeen++;
    res.end('ok\n');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  t.after(() => app.close());
  const appPort = (app.address() as AddressInfo).port;
  const lines: string[] = [];
  const log = new Logger(
    new LogOutput(
      new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    ),
  );
  const stateDir = tempDir();
  let ready = false;
  const written: string[] = [];
  const pool = new WorkerPool({
    count: 2,
    host: '127.0.0.1',
    port: 0,
    entry: ENTRY,
    ingress: { tls: (await loadTlsMaterial({ stateDir })).settings, stateDir },
    upstream: () => (ready ? { host: '127.0.0.1', port: appPort } : undefined),
    notReadyReason: () => 'waiting in the test',
    readyTimeoutMs: () => 30_000,
    writeLines: (l) => written.push(l),
    log,
  });
  await pool.start();
  const port = pool.address?.port as number;
  const pids = [...pool.pids.values()] as number[];
  assert.equal(pids.length, 2);
  t.after(() => {
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  // 12 keep-alive connections, each held open by its agent, over both workers.
  const agents = Array.from({ length: 12 }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
  const held = Promise.all(agents.map((a, i) => get(port, a, `/c${i}`)));
  // Every connection accepted (summed over both workers) while the app is not ready yet.
  for (let i = 0; i < 500 && (await pool.counters()).openConnections < 12; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const waiting = await pool.counters();
  assert.equal(waiting.inflight, 0);
  assert.equal(appSeen, 0, 'nothing sent to the app before it is ready');
  ready = true;
  pool.relay(); // as the supervisor does on a change (onUpstream)
  assert.deepEqual(await held, Array(12).fill(200));
  const c = await pool.counters();
  assert.equal(c.openConnections, 12, 'connections summed over the workers');
  await eventually(
    () =>
      written
        .join('')
        .split('\n')
        .filter((l) => l.includes('"source":"access"')).length === 12,
  );
  const workers = new Set(
    written
      .join('')
      .split('\n')
      .filter((l) => l.includes('"source":"access"'))
      .map((l) => JSON.parse(l).worker),
  );
  assert.deepEqual([...workers].sort(), [1, 2]);
  for (const a of agents) a.destroy();

  await pool.stop(AbortSignal.timeout(5000));
  for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} stopped`);
  assert.ok(lines.some((l) => l.includes('workers stopped')));
});
