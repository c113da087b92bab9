import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentLines } from './recent.ts';

test('the last n lines, oldest first; a non-JSON line becomes {msg}', () => {
  const r = new RecentLines({ halfBytes: 4096 });
  r.add('{"msg":"a"}\n{"msg":"b"}\n');
  r.add('plain text line\n');
  r.add('{"msg":"c","n":1}\n');
  assert.deepEqual(r.recent(3), [{ msg: 'b' }, { msg: 'plain text line' }, { msg: 'c', n: 1 }]);
  assert.equal(r.recent(100).length, 4);
});

test('memory stays within the two halves: old lines go, the newest stay', () => {
  const r = new RecentLines({ halfBytes: 1024 });
  for (let i = 0; i < 1000; i++) r.add(`{"msg":"line ${i}","pad":"${'x'.repeat(40)}"}\n`);
  const kept = r.recent(10_000);
  assert.ok(kept.length > 10 && kept.length < 50, `${kept.length} lines kept`);
  assert.equal(kept.at(-1)?.msg, 'line 999');
  // Consecutive: no line lost or cut inside what is kept.
  const first = Number(String(kept[0].msg).split(' ')[1]);
  assert.deepEqual(
    kept.map((l) => l.msg),
    Array.from({ length: kept.length }, (_, i) => `line ${first + i}`),
  );
});

test('subscribers get each new line until they leave', () => {
  const r = new RecentLines();
  const got: unknown[] = [];
  const off = r.subscribe((l) => got.push(l));
  r.add('{"msg":"x"}\n{"msg":"y"}\n');
  off();
  r.add('{"msg":"z"}\n');
  assert.deepEqual(got, [{ msg: 'x' }, { msg: 'y' }]);
});
