// B9: the log line splitter, fuzzed. Random UTF-8 text (any code points, long and empty lines,
// CRLF) cut into random chunks. Properties: with `split`, joining each run of SPLIT pieces
// and the piece that ends it gives back every line exactly (CR of a CRLF removed), no piece is
// longer than the limit, PARTIAL only at the end; with `truncate`, each line is its own prefix.
// Arbitrary bytes (invalid UTF-8) never throw and never lose a newline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LineEnd, LineSplitter, type OverLong } from '../../src/logs/line-splitter.ts';
import { fuzz } from './fuzz.ts';

function feed(bytes: Buffer, cuts: number[], max: number, mode: OverLong) {
  const s = new LineSplitter(max, mode);
  const out: [string, LineEnd][] = [];
  const emit = (t: string, e: LineEnd): void => {
    out.push([t, e]);
  };
  let at = 0;
  for (const c of [...cuts.map((x) => x % (bytes.length + 1))].sort((a, b) => a - b)) {
    s.push(bytes.subarray(at, c), emit);
    at = c;
  }
  s.push(bytes.subarray(at), emit);
  s.end(emit);
  return out;
}

const lineArb = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀'), maxLength: 120 }),
);
const textArb = fc.record({
  lines: fc.array(
    lineArb.map((l) => l.replace(/[\r\n]/g, '')),
    { maxLength: 8 },
  ),
  crlf: fc.boolean(),
  open: fc.boolean(),
  cuts: fc.array(fc.nat(), { maxLength: 10 }),
  max: fc.integer({ min: 4, max: 64 }),
});

test('split pieces join back to every line, each within the limit', async () => {
  await fuzz(
    'log line splitter (text)',
    textArb,
    ({ lines, crlf, open, cuts, max }) => {
      const nl = crlf ? '\r\n' : '\n';
      const text = lines.map((l, i) => (open && i === lines.length - 1 ? l : l + nl)).join('');
      const pieces = feed(Buffer.from(text), cuts, max, 'split');
      const got: string[] = [];
      let cur = '';
      for (const [i, [t, e]] of pieces.entries()) {
        assert.ok(Buffer.byteLength(t) <= max, `piece of ${Buffer.byteLength(t)} bytes > ${max}`);
        if (e === LineEnd.PARTIAL) assert.equal(i, pieces.length - 1, 'PARTIAL only at the end');
        cur += t;
        if (e !== LineEnd.SPLIT) {
          got.push(cur);
          cur = '';
        }
      }
      assert.equal(cur, '', 'a split run always ends');
      const want = lines.filter((l, i) => !(open && i === lines.length - 1 && l === ''));
      assert.deepEqual(got, want);
      const truncated = feed(Buffer.from(text), cuts, max, 'truncate');
      assert.equal(truncated.length, want.length);
      for (const [i, [t]] of truncated.entries()) assert.ok(want[i]?.startsWith(t));
    },
    500,
  );
});

test('arbitrary bytes never throw and every newline ends a line', async () => {
  await fuzz(
    'log line splitter (bytes)',
    fc.record({
      bytes: fc.uint8Array({ maxLength: 300 }),
      cuts: fc.array(fc.nat(), { maxLength: 10 }),
      max: fc.integer({ min: 4, max: 64 }),
      mode: fc.constantFrom<OverLong>('split', 'truncate'),
    }),
    ({ bytes, cuts, max, mode }) => {
      const buf = Buffer.from(bytes);
      const pieces = feed(buf, cuts, max, mode);
      const newlines = buf.filter((b) => b === 0x0a).length;
      // Each newline ends one line (a NEWLINE piece, or a TRUNCATED one in truncate mode);
      // bytes after the last newline make at most one more (PARTIAL, or TRUNCATED).
      const ended = pieces.filter(([, e]) => e === LineEnd.NEWLINE || e === LineEnd.TRUNCATED);
      assert.ok(ended.length >= newlines && ended.length <= newlines + 1, `${ended.length} lines`);
      for (const [t] of pieces) assert.ok(!t.includes('\n'));
    },
    500,
  );
});
