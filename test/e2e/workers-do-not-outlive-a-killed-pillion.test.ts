import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, alive, eventually, h1Request, startPillion } from './harness.ts';

test('Pillion SIGKILLed with workers: 2: both workers exit too, and the port is free again', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--workers', '2', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const started = await p.waitForLog((l) => l.msg === 'workers listening', 'workers listening');
  const pids = started.pids as number[];
  await p.ready();
  assert.equal((await h1Request(Number(started.port), '/')).status, 200);
  p.proc.kill('SIGKILL');
  await p.exited;
  for (const pid of pids) await eventually(() => !alive(pid), 10_000, `worker ${pid} gone`);
  // Nothing accepts on the port any more: a worker left behind would still answer.
  await assert.rejects(h1Request(Number(started.port), '/'), { code: 'ECONNREFUSED' });
});
