// The bench's /proc reading and process control on a real process tree: a shell that starts
// two sleeping children. CPU time is only checked to be counted, never timed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  coreBusy,
  coreTimes,
  parseCores,
  startTime,
  treePids,
  treeStatus,
  treeTicks,
} from '../../bench/lib/proc.ts';
import { startPinned, stopTree } from '../../bench/lib/spawn.ts';

const alive = (pid: number): boolean => startTime(pid) !== undefined;

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await sleep(50);
  assert.ok(f());
}

test('a process tree is found, measured and stopped whole, by PID', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tree-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // The shell ignores SIGTERM, so stopping it takes the SIGKILL path for it and its children.
  const child = startPinned(
    '0',
    'sh',
    [
      '-c',
      "trap '' TERM; sleep 30 & sleep 30 & i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; wait",
    ],
    { log: join(dir, 'out.log') },
  );
  const pid = child.pid ?? 0;
  await until(() => treePids(pid).length === 3);
  const tree = treePids(pid);
  assert.equal(tree[0], pid);
  assert.ok(treeStatus(pid, 'VmRSS') > 0);
  assert.equal(treeStatus(pid, 'Threads'), 3);
  await until(() => treeTicks(pid) > 0); // the shell's loop burns some CPU
  await stopTree(child);
  for (const p of tree) await until(() => !alive(p));
});

test('a stopped tree leaves a process outside it alone', async () => {
  const outside = spawn('sleep', ['30'], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'bench-tree-'));
  try {
    const child = startPinned('0', 'sleep', ['30'], { log: join(dir, 'out.log') });
    await until(() => alive(child.pid ?? 0));
    await stopTree(child);
    assert.ok(alive(outside.pid ?? 0));
  } finally {
    outside.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('core lists and core busy shares', () => {
  assert.deepEqual(parseCores('1'), [1]);
  assert.deepEqual(parseCores('0-2,5'), [0, 1, 2, 5]);
  const a = coreTimes();
  assert.ok(a.length >= 1);
  const b = a.map((c) => ({ busy: c.busy + 50, total: c.total + 100, steal: c.steal + 10 }));
  const r = coreBusy(a, b, [0]);
  assert.deepEqual(r.busy, [50]);
  assert.equal(r.steal, 10);
});
