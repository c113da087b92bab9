import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Logger, LogOutput } from './log.ts';

test("Pillion's own events under the output's least level are not written", () => {
  const lines: string[] = [];
  const out = new LogOutput(
    new Writable({
      write(c, _e, cb) {
        lines.push(JSON.parse(String(c)).msg);
        cb();
      },
    }),
  );
  const log = new Logger(out).child('test');
  log.debug('d1');
  out.minLevel = 'info';
  log.debug('d2');
  log.info('i');
  out.minLevel = 'error';
  log.warn('w');
  log.error('e');
  assert.deepEqual(lines, ['d1', 'i', 'e']);
});
