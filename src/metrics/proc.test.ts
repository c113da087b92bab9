// Process figures read from /proc, checked against a real app that takes known resources:
// files opened, memory allocated, children forked, CPU burnt.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { childrenOf, readProcess, readTree } from './proc.ts';

const APP = fileURLToPath(new URL('../../test/fixtures/resource-app.ts', import.meta.url));

/** The process's descriptors open on /dev/null. */
function devNullFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === '/dev/null';
    } catch {
      return false;
    }
  }).length;
}

function startApp() {
  const child = spawn(process.execPath, [APP], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const next = async (): Promise<string> => {
    const [line] = (await once(lines, 'line')) as [string];
    return line;
  };
  const ask = async (cmd: string): Promise<void> => {
    const reply = next();
    child.stdin.write(`${cmd}\n`);
    assert.equal(await reply, 'done');
  };
  return { child, next, ask };
}

test("the app's tree: files, memory, children and CPU as the app took them", async (t) => {
  const app = startApp();
  t.after(() => app.child.kill('SIGKILL'));
  assert.match(await app.next(), /^ready \d+$/);
  const pid = app.child.pid as number;
  const before = readTree(pid);
  const devNullBefore = devNullFds(pid);
  assert.equal(before.processes, 1);
  assert.ok(before.threads >= 1);

  await app.ask('files 37');
  const files = readTree(pid);
  // The 37 are on /dev/null; Node's own descriptors (libuv's) may come and go meanwhile.
  assert.equal(devNullFds(pid) - devNullBefore, 37);
  assert.ok(Math.abs(files.fds - before.fds - 37) <= 2, `fds ${before.fds} → ${files.fds}`);

  await app.ask('alloc 64');
  const mem = readTree(pid);
  const grown = mem.rssBytes - files.rssBytes;
  assert.ok(grown >= 64 * 1024 * 1024, `RSS grew by ${grown} bytes, at least 64 MiB expected`);
  assert.ok(grown < 96 * 1024 * 1024, `RSS grew by ${grown} bytes, about 64 MiB expected`);

  await app.ask('fork 3');
  assert.equal(childrenOf(pid).length, 3);
  const forked = readTree(pid);
  assert.equal(forked.processes, 4);
  // Each sleep has one thread and its three standard descriptors (on /dev/null); the app's
  // own threads and descriptors may change with the spawns too (libuv's pool, V8's helpers),
  // so only the children's are sure, and the tree counts them.
  const childThreads = childrenOf(pid).reduce((n, c) => n + (readProcess(c)?.threads ?? 0), 0);
  assert.equal(childThreads, 3);
  assert.ok(forked.threads >= childThreads + 1, `${forked.threads} threads in the tree`);
  assert.ok(forked.fds - mem.fds >= 9);

  await app.ask('burn 300');
  const burnt = readTree(pid);
  assert.ok(burnt.cpuSeconds - forked.cpuSeconds >= 0.2, 'CPU seconds grew with the burn');

  // Pillion's own figures leave the app's subtree out.
  const self = readTree(process.pid, new Set([pid]));
  const all = readTree(process.pid);
  assert.equal(all.processes - self.processes, 4);

  app.child.stdin.write('exit\n');
  await once(app.child, 'exit');
  assert.equal(readProcess(pid), undefined);
});
