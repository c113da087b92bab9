import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rng } from '../../test/fixtures/rng.ts';
import { closeFrame, FrameGate, type GateStop } from './ws-frames.ts';

const frames = Buffer.concat([
  Buffer.from([0x81, 0x03, 0x61, 0x62, 0x63]), // text "abc", unmasked
  Buffer.from([0x82, 0x80, 1, 2, 3, 4]), // empty binary, masked
  Buffer.from([0x82, 126, 0x01, 0x00, ...Buffer.alloc(256)]), // 16-bit length
  Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0, 0, 0, 2, 9, 9, 9, 9, 7, 7]), // 64-bit length, masked
]);
const ends = [5, 11, 271, 287];

/** Feeds `bytes` in chunks of `size`; returns what passed and why it stopped. */
function run(
  gate: FrameGate,
  bytes: Buffer,
  size: number,
  untilBoundaryAt = Number.POSITIVE_INFINITY,
): { passed: Buffer; stop?: GateStop } {
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length; off += size) {
    const r = gate.feed(bytes.subarray(off, off + size), off >= untilBoundaryAt);
    out.push(...r.pass);
    if (r.stop) return { passed: Buffer.concat(out), stop: r.stop };
  }
  return { passed: Buffer.concat(out) };
}

test('every byte passes, in order, however the stream is split', () => {
  for (let size = 1; size <= frames.length; size++) {
    const r = run(
      new FrameGate({ maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20 }),
      frames,
      size,
    );
    assert.equal(r.stop, undefined);
    assert.ok(r.passed.equals(frames), `chunks of ${size}`);
  }
});

test('asked to stop, the gate passes the frame in flight and stops at its end', () => {
  for (let size = 1; size <= frames.length; size++) {
    for (let at = 0; at < frames.length; at += size) {
      const r = run(new FrameGate(), frames, size, at);
      if (at === 0) {
        assert.equal(r.passed.length, 0);
        continue;
      }
      assert.equal(r.stop, 'boundary');
      // The first boundary at or after what had passed when the stop was asked.
      const before = run(new FrameGate(), frames.subarray(0, at), size).passed.length;
      const want = [0, ...ends].find((e) => e >= before);
      assert.equal(r.passed.length, want, `chunks of ${size}, stop asked at ${at}`);
      assert.ok(r.passed.equals(frames.subarray(0, want)));
    }
  }
});

const text = (fin: boolean, op: number, n: number): Buffer =>
  Buffer.concat([
    Buffer.from([(fin ? 0x80 : 0) | op, 0x80 | n, 1, 2, 3, 4]),
    Buffer.alloc(n, 0x61),
  ]);

test('a frame over the frame cap is stopped before its first byte passes', () => {
  const stream = Buffer.concat([text(true, 1, 10), text(true, 2, 20), text(true, 1, 10)]);
  for (let size = 1; size <= stream.length; size++) {
    const r = run(new FrameGate({ maxFrameBytes: 15, maxMessageBytes: 100 }), stream, size);
    assert.equal(r.stop, 'frame', `chunks of ${size}`);
    assert.ok(r.passed.equals(stream.subarray(0, 16)), `chunks of ${size}`);
  }
});

test('fragments adding up past the message cap stop at the fragment that crosses it', () => {
  // Two messages of 3 × 10 bytes, a ping between fragments; the cap is 25.
  const stream = Buffer.concat([
    text(true, 1, 20),
    text(false, 1, 10),
    text(true, 9, 5),
    text(false, 0, 10),
    text(true, 0, 10),
  ]);
  const crossing = 26 + 16 + 11 + 16;
  for (let size = 1; size <= stream.length; size++) {
    const r = run(new FrameGate({ maxFrameBytes: 25, maxMessageBytes: 25 }), stream, size);
    assert.equal(r.stop, 'message', `chunks of ${size}`);
    assert.ok(r.passed.equals(stream.subarray(0, crossing)), `chunks of ${size}`);
  }
});

test('close frames carry the code, masked towards a server', () => {
  assert.deepEqual([...closeFrame(1001, false)], [0x88, 2, 0x03, 0xe9]);
  const m = closeFrame(1009, true);
  assert.equal(m[1], 0x82);
  const mask = m.subarray(2, 6);
  const code = Buffer.from([
    (m[6] as number) ^ (mask[0] as number),
    (m[7] as number) ^ (mask[1] as number),
  ]);
  assert.equal(code.readUInt16BE(), 1009);
});

test('random frame streams in random pieces: the gate passes exactly the frames a model allows', () => {
  // A seeded generator, so a failure replays.
  const next = rng(0x9e3779b9);
  const rand = (n: number): number => Math.floor(next() * n);
  const caps = { maxFrameBytes: 300, maxMessageBytes: 700 };
  const seen: Record<string, number> = { clean: 0, frame: 0, message: 0, boundary: 0 };
  for (let run = 0; run < 300; run++) {
    const frames: Buffer[] = [];
    let allowed = -1; // bytes the model lets through; -1 while nothing is over
    let message = 0;
    let inMessage = false;
    let total = 0;
    for (let f = 0; f < 12; f++) {
      const control = rand(5) === 0;
      const op = control ? 9 : inMessage ? 0 : 1 + rand(2);
      const big = rand(25) === 0;
      const n = control
        ? rand(126)
        : big
          ? [301, 65536][rand(2)]
          : [0, 5, 125, 126, 200, 300][rand(6)];
      const fin = control || rand(2) > 0;
      const len =
        n < 126 ? [n] : n < 65536 ? [126, n >> 8, n & 0xff] : [127, 0, 0, 0, 0, 0, 1, 0, 0];
      const masked = rand(2) === 0;
      const head = Buffer.from([
        (fin ? 0x80 : 0) | op,
        (masked ? 0x80 : 0) | (len[0] as number),
        ...len.slice(1),
      ]);
      const bytes = Buffer.concat([
        head,
        masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0),
        Buffer.alloc(n, f),
      ]);
      if (allowed < 0) {
        let over = n > caps.maxFrameBytes;
        if (!over && !control) {
          message = op === 0 ? message + n : n;
          over = message > caps.maxMessageBytes;
        }
        if (over) allowed = total;
      }
      if (!control) inMessage = !fin;
      if (!control && fin) message = 0;
      frames.push(bytes);
      total += bytes.length;
    }
    const stream = Buffer.concat(frames);
    const gate = new FrameGate(caps);
    const out: Buffer[] = [];
    let stop: GateStop | undefined;
    for (let off = 0; off < stream.length && !stop; ) {
      const size = 1 + rand(rand(2) ? 16 : 4096);
      const r = gate.feed(stream.subarray(off, off + size));
      out.push(...r.pass);
      stop = r.stop;
      off += size;
    }
    const passed = Buffer.concat(out);
    seen[stop ?? 'clean'] = (seen[stop ?? 'clean'] ?? 0) + 1;
    if (allowed < 0) {
      assert.equal(stop, undefined, `run ${run}`);
      assert.ok(passed.equals(stream), `run ${run}: every byte passes`);
    } else {
      assert.ok(stop === 'frame' || stop === 'message', `run ${run}`);
      assert.ok(
        passed.equals(stream.subarray(0, allowed)),
        `run ${run}: exactly the frames before`,
      );
    }
  }
  // Each outcome is exercised.
  assert.ok(seen.clean && seen.frame && seen.message, JSON.stringify(seen));
});

test("the first close frame's code is read as it passes, masked or not, however split", () => {
  const text = Buffer.from([0x81, 0x03, 0x61, 0x62, 0x63]);
  const mask = [0x11, 0x22, 0x33, 0x44];
  const masked = Buffer.from([
    0x88,
    0x84,
    ...mask,
    0x03 ^ 0x11,
    0xe8 ^ 0x22,
    0x6f ^ 0x33,
    0x6b ^ 0x44,
  ]);
  const second = closeFrame(1011, false);
  for (let size = 1; size <= 20; size++) {
    const a = new FrameGate();
    run(a, Buffer.concat([text, closeFrame(1001, false), second]), size);
    assert.equal(a.closeCode, 1001, `unmasked, chunks of ${size}`);
    const b = new FrameGate({ maxFrameBytes: 1 << 20, maxMessageBytes: 1 << 20 });
    const r = run(b, Buffer.concat([text, masked]), size);
    assert.equal(b.closeCode, 1000, `masked with a reason, chunks of ${size}`);
    assert.ok(r.passed.equals(Buffer.concat([text, masked])), 'the bytes pass untouched');
  }
  const empty = new FrameGate();
  run(empty, Buffer.from([0x88, 0x00]), 1);
  assert.equal(empty.closeCode, 1005, 'a close frame without a code');
  const none = new FrameGate();
  run(none, text, 2);
  assert.equal(none.closeCode, undefined);
});
