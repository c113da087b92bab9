import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogThrottle } from './log-throttle.ts';

test('a burst logs its first event at once, then one line with how many it skipped', async () => {
  const lines: [string, number, Record<string, unknown>][] = [];
  const t = new LogThrottle({
    intervalMs: 50,
    emit: (key, suppressed, fields) => lines.push([key, suppressed, fields]),
  });
  t.note('MAX_CONNECTIONS', { remote: '127.0.0.2' });
  for (let i = 3; i < 8; i++) t.note('MAX_CONNECTIONS', { remote: `127.0.0.${i}` });
  t.note('EMFILE', { remote: undefined });
  assert.deepEqual(lines, [
    ['MAX_CONNECTIONS', 0, { remote: '127.0.0.2' }],
    ['EMFILE', 0, { remote: undefined }],
  ]);
  // Bounded wait for the summary (the interval's timer).
  for (let i = 0; i < 100 && lines.length < 3; i++) await sleep(20);
  assert.deepEqual(lines[2], ['MAX_CONNECTIONS', 5, { remote: '127.0.0.7' }]);
  // A quiet interval after the summary, then the next event is logged at once again.
  await sleep(200);
  assert.equal(lines.length, 3, 'nothing more while quiet');
  t.note('MAX_CONNECTIONS', { remote: '127.0.0.9' });
  assert.deepEqual(lines[3], ['MAX_CONNECTIONS', 0, { remote: '127.0.0.9' }]);
});

test('with a burst, the first N events of an interval are logged one by one, the rest summed', async () => {
  const lines: [string, number][] = [];
  const t = new LogThrottle({
    intervalMs: 50,
    burst: 3,
    emit: (key, suppressed) => lines.push([key, suppressed]),
  });
  for (let i = 0; i < 10; i++) t.note('HPE_INVALID_METHOD', {});
  assert.deepEqual(lines, [
    ['HPE_INVALID_METHOD', 0],
    ['HPE_INVALID_METHOD', 0],
    ['HPE_INVALID_METHOD', 0],
  ]);
  for (let i = 0; i < 100 && lines.length < 4; i++) await sleep(20);
  assert.deepEqual(lines[3], ['HPE_INVALID_METHOD', 7]);
  // flush writes a pending summary at once.
  for (let i = 0; i < 5; i++) t.note('TLS', {});
  t.flush();
  assert.deepEqual(lines.slice(4), [
    ['TLS', 0],
    ['TLS', 0],
    ['TLS', 0],
    ['TLS', 2],
  ]);
});
