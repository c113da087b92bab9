// pillion.yaml's app fields apply on reload by restarting the app, when app.restart_on_change
// is on; otherwise they wait for the next start and the running app is left alone.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { test } from 'node:test';
import { APP, eventually, h1Request, startPillion, tempDir } from './harness.ts';

function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const config = (command: string[], optIn: boolean): string =>
  `app:\n  command: ${JSON.stringify(command)}\n  restart_on_change: ${optIn}\ningress:\n  listen: 127.0.0.1:0\n`;

for (const optIn of [true, false]) {
  test(`restart_on_change: ${optIn}: a changed app.command ${optIn ? 'restarts the app with it, failing no request' : 'waits for the next start'}`, async (t) => {
    const dir = tempDir();
    const file = join(dir, 'pillion.yaml');
    const first = [process.execPath, APP];
    const second = [process.execPath, '--no-warnings', APP];
    writeAtomically(file, config(first, optIn));
    const p = startPillion(['run', '--config', file]);
    t.after(() => p.kill());
    const port = await p.port();
    await p.ready();
    const started = () => p.lines.filter((l) => l.msg === 'app started');
    const firstPid = started()[0].app_pid;

    // A bounded load over keep-alive connections while the config changes.
    const agent = new Agent({ keepAlive: true, maxSockets: 4, rejectUnauthorized: false });
    t.after(() => agent.destroy());
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      for (let i = 0; i < 2000 && !stop; i++) {
        const r = await h1Request(port, `/n/${i}`, { agent }).catch(() => ({ status: 0 }));
        statuses.push(r.status);
      }
    })();
    await eventually(() => statuses.length >= 20, 10_000, 'load under way');
    writeAtomically(file, config(second, optIn));
    if (optIn) {
      const done = await p.waitForLog(
        (l) => l.msg === 'app restarted to apply changed config fields',
      );
      assert.deepEqual(done.fields, ['app.command']);
      await eventually(() => started().length === 2, 10_000, 'the new instance');
      assert.deepEqual(started()[1].command, second);
      assert.notEqual(started()[1].app_pid, firstPid);
      await p.waitForLog((l) => l.msg === 'app ready' && l.app_pid === started()[1].app_pid);
    } else {
      const warned = await p.waitForLog((l) => /apply only at the next start/.test(l.msg));
      assert.deepEqual(warned.fields, ['app.command']);
    }
    const seen = statuses.length;
    await eventually(() => statuses.length >= seen + 20, 10_000, 'load after the change');
    stop = true;
    await load;
    assert.ok(statuses.length > 40);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      'no request failed',
    );
    if (!optIn) {
      assert.equal(started().length, 1, 'the running app was left alone');
    }
    p.proc.kill('SIGTERM');
    assert.equal(await p.exited, 0);
  });
}
