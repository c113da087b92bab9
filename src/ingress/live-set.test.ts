import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LiveSet } from './live-set.ts';

test('a LiveSet holds what was added and not deleted, as a Set would', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 })), { maxLength: 200 }),
      (ops) => {
        const members = Array.from({ length: 16 }, (_, id) => ({ id, liveSlot: -1 }));
        const live = new LiveSet<(typeof members)[number]>();
        const ref = new Set<number>();
        for (const [add, i] of ops) {
          const m = members[i] as (typeof members)[number];
          if (add) {
            live.add(m);
            ref.add(i);
          } else {
            live.delete(m);
            ref.delete(i);
          }
          assert.equal(live.size, ref.size);
        }
        assert.deepEqual(
          live
            .snapshot()
            .map((m) => m.id)
            .sort((a, b) => a - b),
          [...ref].sort((a, b) => a - b),
        );
        for (const m of members) assert.equal(m.liveSlot !== -1, ref.has(m.id));
      },
    ),
    { seed: 3, numRuns: 300 },
  );
});

test('members may be deleted while a snapshot of them is gone through', () => {
  const live = new LiveSet<{ liveSlot: number }>();
  const ms = Array.from({ length: 5 }, () => ({ liveSlot: -1 }));
  for (const m of ms) live.add(m);
  for (const m of live.snapshot()) live.delete(m);
  assert.equal(live.size, 0);
  assert.ok(ms.every((m) => m.liveSlot === -1));
});
