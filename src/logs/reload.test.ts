import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { Logger } from '../core/log.ts';
import { Logs, logsOptions } from './index.ts';
import { SinkOutput, stdoutSink } from './output.ts';

const fdsOn = (path: string): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;

const settle = () => new Promise((r) => setTimeout(r, 50));

test('a reload of the sinks: prepare opens the new file, commit swaps and closes the old, abort releases', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-reload-'));
  const a = join(dir, 'a.log');
  const b = join(dir, 'b.log');
  const out = new SinkOutput([stdoutSink()]);
  const log = new Logger(out);
  const file = (path: string) => ({ path, maxBytes: 0, keep: 0 });
  const logs = new Logs(out, logsOptions({ stdout: false, file: file(a) }), log.child('logs'));
  await logs.start();
  log.info('one');

  // Abort: the prepared file is released, the running one untouched.
  const aborted = await logs.prepare(logsOptions({ stdout: false, file: file(b) }));
  assert.equal(fdsOn(b), 1, 'prepare opened the new file');
  await aborted.abort();
  assert.equal(fdsOn(b), 0, 'abort closed it');
  log.info('two');

  // A file that cannot be opened: prepare throws, nothing changes.
  await assert.rejects(
    logs.prepare(logsOptions({ stdout: false, file: file('/proc/pillion-nope/x.log') })),
    (err: unknown) => err instanceof PillionError && err.code === ErrorCode.LOG_FILE_UNWRITABLE,
  );
  log.info('three');

  // Commit: lines go to the new file, the old one is flushed and closed.
  const next = await logs.prepare(logsOptions({ stdout: false, file: file(b) }));
  next.commit();
  log.info('four');
  await out.flush();
  await settle();
  const msgs = (path: string) =>
    readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l).msg)
      .filter((m: string) => m !== 'logs ready');
  assert.deepEqual(msgs(a), ['one', 'two', 'three']);
  assert.deepEqual(msgs(b), ['four']);
  assert.equal(fdsOn(a), 0, 'the old file closed');

  // The same settings again keep the open file: nothing is reopened.
  const same = await logs.prepare(logsOptions({ stdout: false, file: file(b) }));
  same.commit();
  assert.equal(fdsOn(b), 1);
  await logs.stop(AbortSignal.timeout(5000));
  assert.equal(fdsOn(b), 0);
  assert.equal(existsSync(join(dir, 'x.log')), false);
});
