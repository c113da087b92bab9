import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, DEFAULT_BACKOFF } from './backoff.ts';
import { shouldRestart } from './restart-policy.ts';

test('back-off doubles from the base to the cap and stays there', () => {
  const b = new Backoff(DEFAULT_BACKOFF);
  const delays = Array.from({ length: 12 }, () => b.next(0));
  assert.deepEqual(
    delays,
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300].map((s) => s * 1000),
  );
  // 200 crashes later it is still the cap, not Infinity.
  for (let i = 0; i < 200; i++) b.next(0);
  assert.equal(b.next(0), 300_000);
});

test('back-off resets after an instance ran for the healthy period, and on reset()', () => {
  const b = new Backoff({ baseMs: 10, capMs: 1000, resetAfterMs: 5000 });
  assert.deepEqual([b.next(0), b.next(0), b.next(4999)], [10, 20, 40]);
  assert.equal(b.next(5000), 10);
  assert.equal(b.next(0), 20);
  b.reset();
  assert.equal(b.next(0), 10);
});

test('restart policy: never, on-failure, always, and a max-restarts cap', () => {
  const table: [Parameters<typeof shouldRestart>, boolean][] = [
    [['never', 1, 0, undefined], false],
    [['never', 0, 0, undefined], false],
    [['on-failure', 0, 0, undefined], false],
    [['on-failure', 1, 0, undefined], true],
    [['on-failure', 137, 99, undefined], true],
    [['always', 0, 0, undefined], true],
    [['always', 0, 2, 3], true],
    [['always', 0, 3, 3], false],
    [['on-failure', 1, 0, 0], false],
  ];
  for (const [args, want] of table) assert.equal(shouldRestart(...args), want, args.join(' '));
});
