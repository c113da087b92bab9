import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Logger } from '../core/log.ts';
import { Logs, logsOptions } from './index.ts';
import { SinkOutput } from './output.ts';

/** How many of this process's fds are open on `path` (other fds come and go with the runner). */
const fdsOn = (path: string): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

test('Logs: start opens the file sink, stop flushes and closes it, leaving no fd behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-logs-'));
  try {
    const seen: string[] = [];
    const stdout = new Writable({
      decodeStrings: false,
      write(c: string, _e, cb) {
        seen.push(c);
        cb();
      },
    });
    const out = new SinkOutput([
      { name: 'stdout', dest: stdout, bufferBytes: 1 << 20, whenFull: 'block' },
    ]);
    const log = new Logger(out);
    const file = join(dir, 'p.log');
    const logs = new Logs(
      out,
      logsOptions({ stdout: false, file: { path: file, maxBytes: 0, keep: 0 } }),
      log.child('logs'),
    );
    await logs.start();
    assert.equal(fdsOn(file), 1);
    assert.deepEqual(
      out.sinks.map((s) => s.name),
      ['file'],
    );
    log.info('hello');
    logs.accessLog()({
      method: 'GET',
      path: '/x',
      status: 200,
      durationMs: 1,
      bytes: 2,
      protocol: 'HTTP/2',
      remote: '::1',
      requestId: 'r',
    });
    await Promise.all([logs.stop(AbortSignal.timeout(5000)), logs.stop(AbortSignal.timeout(5000))]);
    assert.equal(fdsOn(file), 0);
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['logs ready', 'hello', 'GET /x 200', 'logs closing'],
    );
    // Nothing reached the stdout sink: the file was the only one.
    assert.deepEqual(seen, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
