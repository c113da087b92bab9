import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeFrame, FrameCursor } from './ws-frames.ts';

const frames = Buffer.concat([
  Buffer.from([0x81, 0x03, 0x61, 0x62, 0x63]), // text "abc", unmasked
  Buffer.from([0x82, 0x80, 1, 2, 3, 4]), // empty binary, masked
  Buffer.from([0x82, 126, 0x01, 0x00, ...Buffer.alloc(256)]), // 16-bit length
  Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, 9, 9, 9, 9, 7, 7]), // 64-bit length, masked
]);
const ends = [5, 11, 271, 287];

test('frame boundaries are found however the bytes are split', () => {
  for (let size = 1; size <= frames.length; size++) {
    const c = new FrameCursor();
    for (let off = 0; off < frames.length; off += size) {
      const chunk = frames.subarray(off, off + size);
      const end = off + chunk.length;
      const first = ends.find((e) => e > off && e <= end);
      const at = c.feed(chunk);
      assert.equal(at, first === undefined ? -1 : first - off, `chunks of ${size} at ${off}`);
      assert.equal(c.atBoundary, ends.includes(end), `chunks of ${size} ending ${end}`);
    }
  }
});

test('mid-frame is not a boundary', () => {
  const c = new FrameCursor();
  assert.equal(c.feed(frames.subarray(0, 3)), -1);
  assert.equal(c.atBoundary, false);
  assert.equal(c.feed(frames.subarray(3, 5)), 2);
  assert.ok(c.atBoundary);
});

test('close frames carry the code, masked towards a server', () => {
  assert.deepEqual([...closeFrame(1001, false)], [0x88, 2, 0x03, 0xe9]);
  const m = closeFrame(1001, true);
  assert.equal(m[1], 0x82);
  const mask = m.subarray(2, 6);
  const code = Buffer.from([
    (m[6] as number) ^ (mask[0] as number),
    (m[7] as number) ^ (mask[1] as number),
  ]);
  assert.equal(code.readUInt16BE(), 1001);
});
