// The app's process figures through the real CLI: an app that opens 25 files, allocates
// 48 MiB and forks 2 children shows exactly those in /api/v1/stats and /metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { adminJson, scrape } from './admin-client.ts';
import { h1Request, startPillion } from './harness.ts';

const APP = fileURLToPath(new URL('../fixtures/resource-app.ts', import.meta.url));

type Figures = {
  cpu_seconds: number;
  rss_bytes: number;
  fds: number;
  threads: number;
  processes: number;
};

test("the app tree's files, memory and children show in stats and metrics", async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', process.execPath, APP], {
    bin: true,
  });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await p.admin();
  // Past the 0.5 s the figures are kept, so each read is a fresh one.
  const fresh = async (): Promise<Figures> => {
    await new Promise((r) => setTimeout(r, 600));
    return (await adminJson<{ process: { app: Figures } }>(admin, '/api/v1/stats')).process.app;
  };
  const ask = async (path: string) => assert.equal((await h1Request(port, path)).body, 'done\n');
  // A first request: Pillion's keep-alive connection to the app is one descriptor of the app's,
  // open before the figures are first read and reused after.
  await ask('/files?n=0');
  const before = await fresh();
  assert.equal(before.processes, 1);
  await ask('/files?n=25');
  const files = await fresh();
  assert.equal(files.fds - before.fds, 25);
  await ask('/alloc?n=48');
  const mem = await fresh();
  assert.ok(
    mem.rss_bytes - files.rss_bytes >= 48 * 1024 * 1024,
    `${mem.rss_bytes - files.rss_bytes}`,
  );
  await ask('/fork?n=2');
  const forked = await fresh();
  assert.equal(forked.processes, 3);
  assert.equal(forked.threads - mem.threads, 2);
  await ask('/burn?n=250');
  const burnt = await fresh();
  assert.ok(burnt.cpu_seconds - forked.cpu_seconds >= 0.2);
  const m = await scrape(admin);
  assert.equal(m.value('pillion_app_processes'), 3);
  assert.ok(m.value('pillion_app_resident_memory_bytes') >= 48 * 1024 * 1024);
  assert.ok(m.value('pillion_app_cpu_seconds_total') >= 0.2);
  // Pillion's own figures leave the app's tree out.
  const pillion = (await adminJson<{ process: { pillion: Figures } }>(admin, '/api/v1/stats'))
    .process.pillion;
  assert.ok(pillion.processes >= 1);
  assert.equal(m.value('pillion_process_processes'), pillion.processes);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
