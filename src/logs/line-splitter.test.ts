import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rng as prng } from '../../test/fixtures/rng.ts';
import { LineEnd, LineSplitter } from './line-splitter.ts';

type Piece = [text: string, end: LineEnd];

/** Feeds the chunks in order, then ends the stream; returns every piece emitted. */
function run(maxBytes: number, chunks: (string | Buffer)[], end = true): Piece[] {
  const splitter = new LineSplitter(maxBytes);
  const out: Piece[] = [];
  const emit = (text: string, e: LineEnd): void => {
    out.push([text, e]);
  };
  for (const c of chunks) splitter.push(typeof c === 'string' ? Buffer.from(c) : c, emit);
  if (end) splitter.end(emit);
  return out;
}

/** Splits a buffer into single-byte buffers. */
function bytes(text: string): Buffer[] {
  const buf = Buffer.from(text);
  return [...buf].map((b) => Buffer.from([b]));
}

/** Joins SPLIT pieces to the next one and ends NEWLINE pieces with \n: the input, minus \r. */
function reassemble(pieces: Piece[]): string {
  let text = '';
  for (const [piece, end] of pieces) text += end === LineEnd.NEWLINE ? `${piece}\n` : piece;
  return text;
}

const { NEWLINE, SPLIT, PARTIAL } = LineEnd;

describe('LineSplitter', () => {
  test('rejects a limit below one 4-byte character', () => {
    assert.throws(() => new LineSplitter(3), RangeError);
    assert.doesNotThrow(() => new LineSplitter(4));
  });

  test('emits each complete line of one chunk', () => {
    assert.deepEqual(run(64, ['one\ntwo\nthree\n']), [
      ['one', NEWLINE],
      ['two', NEWLINE],
      ['three', NEWLINE],
    ]);
  });

  test('joins a line across chunk boundaries', () => {
    assert.deepEqual(run(64, ['he', 'llo wo', 'rld\nne', 'xt\n']), [
      ['hello world', NEWLINE],
      ['next', NEWLINE],
    ]);
  });

  test('joins a line held over several chunks without a newline', () => {
    assert.deepEqual(run(64, ['a', 'b', 'c', 'd', '\n']), [['abcd', NEWLINE]]);
  });

  test('strips one CR before LF, also when CR and LF arrive in different chunks', () => {
    assert.deepEqual(run(64, ['dos\r\n', 'split\r', '\nunix\n']), [
      ['dos', NEWLINE],
      ['split', NEWLINE],
      ['unix', NEWLINE],
    ]);
  });

  test('keeps a CR that is not right before LF', () => {
    assert.deepEqual(run(64, ['a\rb\n', 'two\r\r\n', '\rlead\n']), [
      ['a\rb', NEWLINE],
      ['two\r', NEWLINE],
      ['\rlead', NEWLINE],
    ]);
  });

  test('keeps a trailing CR on a partial last line', () => {
    assert.deepEqual(run(64, ['end\r']), [['end\r', PARTIAL]]);
  });

  test('emits empty lines, including a bare CRLF', () => {
    assert.deepEqual(run(64, ['\n\na\n\r\n', '\n']), [
      ['', NEWLINE],
      ['', NEWLINE],
      ['a', NEWLINE],
      ['', NEWLINE],
      ['', NEWLINE],
    ]);
  });

  test('emits nothing for an empty chunk', () => {
    assert.deepEqual(run(64, [Buffer.alloc(0), '', 'x\n', '']), [['x', NEWLINE]]);
  });

  test('gives the same lines when fed one byte at a time', () => {
    const text = 'alpha\r\nbéta €uro\n\n😀 smile\ntail';
    assert.deepEqual(run(64, bytes(text)), run(64, [text]));
    assert.deepEqual(run(64, bytes(text)), [
      ['alpha', NEWLINE],
      ['béta €uro', NEWLINE],
      ['', NEWLINE],
      ['😀 smile', NEWLINE],
      ['tail', PARTIAL],
    ]);
  });

  test('emits a line of exactly maxBytes whole', () => {
    assert.deepEqual(run(8, ['12345678\n']), [['12345678', NEWLINE]]);
    assert.deepEqual(run(8, bytes('12345678\n')), [['12345678', NEWLINE]]);
  });

  test('splits a long line into SPLIT pieces of maxBytes, the last one NEWLINE', () => {
    const expected: Piece[] = [
      ['abcd', SPLIT],
      ['efgh', SPLIT],
      ['ij', NEWLINE],
      ['k', NEWLINE],
    ];
    assert.deepEqual(run(4, ['abcdefghij\nk\n']), expected);
    assert.deepEqual(run(4, bytes('abcdefghij\nk\n')), expected);
    assert.deepEqual(run(4, ['abcdef', 'ghij\nk', '\n']), expected);
  });

  test('a line of a multiple of maxBytes ends with a full NEWLINE piece, not an empty one', () => {
    assert.deepEqual(run(4, ['abcdefgh\n']), [
      ['abcd', SPLIT],
      ['efgh', NEWLINE],
    ]);
    assert.deepEqual(run(4, ['abcdefgh', '\n']), [
      ['abcd', SPLIT],
      ['efgh', NEWLINE],
    ]);
  });

  test('does not count the CR of a CRLF towards the limit', () => {
    assert.deepEqual(run(4, ['abcd\r\n']), [['abcd', NEWLINE]]);
    assert.deepEqual(run(4, ['abcd\r', '\n']), [['abcd', NEWLINE]]);
    assert.deepEqual(run(4, ['abcde', '\n']), [
      ['abcd', SPLIT],
      ['e', NEWLINE],
    ]);
  });

  test('splits a long partial line on end(), the last piece PARTIAL', () => {
    assert.deepEqual(run(4, ['abcdefghij']), [
      ['abcd', SPLIT],
      ['efgh', SPLIT],
      ['ij', PARTIAL],
    ]);
  });

  test('emits SPLIT pieces as soon as the held bytes pass the limit', () => {
    assert.deepEqual(run(4, ['abcdefghij'], false), [
      ['abcd', SPLIT],
      ['efgh', SPLIT],
    ]);
  });

  describe('never cuts a UTF-8 character', () => {
    // '€' is E2 82 AC (3 bytes); '😀' is F0 9F 98 80 (4 bytes).
    const cases: { name: string; max: number; line: string; pieces: string[] }[] = [
      { name: '€ with its 2nd byte at the cut', max: 4, line: 'abc€d', pieces: ['abc', '€d'] },
      { name: '€ with its 3rd byte at the cut', max: 4, line: 'ab€cd', pieces: ['ab', '€c', 'd'] },
      { name: '€ ending exactly at the cut', max: 4, line: 'a€bc', pieces: ['a€', 'bc'] },
      { name: '€ starting exactly at the cut', max: 4, line: 'abcd€', pieces: ['abcd', '€'] },
      { name: '😀 with its 2nd byte at the cut', max: 4, line: 'abc😀', pieces: ['abc', '😀'] },
      { name: '😀 with its 3rd byte at the cut', max: 4, line: 'ab😀', pieces: ['ab', '😀'] },
      { name: '😀 with its 4th byte at the cut', max: 4, line: 'a😀b', pieces: ['a', '😀', 'b'] },
      { name: 'only 4-byte characters', max: 4, line: '😀😀😀', pieces: ['😀', '😀', '😀'] },
      { name: 'only 3-byte characters, max 4', max: 4, line: '€€€', pieces: ['€', '€', '€'] },
      { name: '2-byte characters, odd max', max: 5, line: 'ééééé', pieces: ['éé', 'éé', 'é'] },
      { name: 'mixed widths', max: 6, line: 'a😀€é😀', pieces: ['a😀', '€é', '😀'] },
    ];
    for (const c of cases) {
      const expected: Piece[] = c.pieces.map((p, i) => [
        p,
        i === c.pieces.length - 1 ? NEWLINE : SPLIT,
      ]);
      test(`${c.name}: whole chunk`, () => {
        assert.deepEqual(run(c.max, [`${c.line}\n`]), expected);
      });
      test(`${c.name}: byte at a time`, () => {
        assert.deepEqual(run(c.max, bytes(`${c.line}\n`)), expected);
      });
      test(`${c.name}: partial on end()`, () => {
        const partial: Piece[] = expected.map(([p, e]) => [p, e === NEWLINE ? PARTIAL : e]);
        assert.deepEqual(run(c.max, bytes(c.line)), partial);
      });
    }
  });

  test('still splits and ends every line on invalid UTF-8', () => {
    // Stray continuation bytes: the boundary search gives up after 3 bytes and cuts anyway.
    const junk = Buffer.concat([Buffer.alloc(10, 0x80), Buffer.from('\nok\n')]);
    const pieces = run(4, [junk]);
    assert.deepEqual(pieces.at(-1), ['ok', NEWLINE]);
    assert.equal(pieces.filter(([, e]) => e === NEWLINE).length, 2);
    for (const [text, end] of pieces.slice(0, -2)) {
      assert.equal(end, SPLIT);
      assert.match(text, /^\ufffd+$/);
    }
  });

  test('joins a character split across chunks in a held line', () => {
    const euro = Buffer.from('x€y\n');
    assert.deepEqual(run(64, [euro.subarray(0, 2), euro.subarray(2, 3), euro.subarray(3)]), [
      ['x€y', NEWLINE],
    ]);
  });

  test('flags the unterminated last line PARTIAL on end()', () => {
    assert.deepEqual(run(64, ['done\nhalf', ' a line']), [
      ['done', NEWLINE],
      ['half a line', PARTIAL],
    ]);
  });

  test('emits nothing on end() when nothing is pending', () => {
    assert.deepEqual(run(64, []), []);
    assert.deepEqual(run(64, ['all\ndone\n']), [
      ['all', NEWLINE],
      ['done', NEWLINE],
    ]);
  });

  test('end() empties the splitter: a second end() emits nothing', () => {
    const splitter = new LineSplitter(64);
    const out: Piece[] = [];
    const emit = (text: string, e: LineEnd): void => {
      out.push([text, e]);
    };
    splitter.push(Buffer.from('tail'), emit);
    splitter.end(emit);
    splitter.end(emit);
    assert.deepEqual(out, [['tail', PARTIAL]]);
  });

  test('random chunks of random lines reassemble to the input', () => {
    const alphabet = ['a', 'b', 'z', ' ', '\t', '\r', 'é', 'ß', '€', '中', '😀', '🎉', '"', '\\'];

    for (let seed = 1; seed <= 300; seed++) {
      const rand = prng(seed);
      const int = (n: number): number => Math.floor(rand() * n);
      const max = 4 + int(16);

      let input = '';
      const lines = int(12);
      for (let l = 0; l < lines; l++) {
        const len = int(3) === 0 ? int(4 * max) : int(max + 2);
        for (let i = 0; i < len; i++) input += alphabet[int(alphabet.length)];
        input += int(4) === 0 ? '\r\n' : '\n';
      }
      // Sometimes leave the last line unterminated.
      if (int(2) === 0) for (let i = int(2 * max); i > 0; i--) input += alphabet[int(4)];

      const buf = Buffer.from(input);
      const chunks: Buffer[] = [];
      for (let at = 0; at < buf.length; ) {
        const size = 1 + int(Math.min(buf.length - at, 3 * max));
        chunks.push(buf.subarray(at, at + size));
        at += size;
      }

      const pieces = run(max, chunks);
      const where = `seed ${seed}, max ${max}, input ${JSON.stringify(input)}`;
      // One CR right before each LF is stripped; everything else comes back byte for byte.
      assert.equal(reassemble(pieces), input.replace(/\r\n/g, '\n'), where);
      for (const [text, end] of pieces) {
        assert.ok(Buffer.byteLength(text) <= max, `piece over ${max} bytes: ${where}`);
        assert.ok(!text.includes('\ufffd'), `cut character: ${where}`);
        if (end === SPLIT) assert.ok(text.length > 0, `empty SPLIT piece: ${where}`);
      }
      const newlines = pieces.filter(([, e]) => e === NEWLINE).length;
      assert.equal(newlines, input.split('\n').length - 1, where);
      const partials = pieces.filter(([, e]) => e === PARTIAL);
      assert.equal(partials.length, input.endsWith('\n') || input === '' ? 0 : 1, where);
      if (partials.length === 1) assert.equal(pieces.at(-1)?.[1], PARTIAL, where);
      // The same input whole gives the same pieces: chunking never changes the output.
      assert.deepEqual(run(max, [buf]), pieces, where);
    }
  });
});

describe('LineSplitter with truncate', () => {
  const TRUNCATED = LineEnd.TRUNCATED;
  const runT = (max: number, chunks: (string | Buffer)[]): Piece[] => {
    const splitter = new LineSplitter(max, 'truncate');
    const out: Piece[] = [];
    const emit = (text: string, e: LineEnd): void => {
      out.push([text, e]);
    };
    for (const c of chunks) splitter.push(typeof c === 'string' ? Buffer.from(c) : c, emit);
    splitter.end(emit);
    return out;
  };

  test('keeps the first piece of a long line, flagged, and skips to the next line', () => {
    assert.deepEqual(runT(4, ['abcdefghij\nok\n']), [
      ['abcd', TRUNCATED],
      ['ok', NEWLINE],
    ]);
  });

  test('skips the rest of a long line across chunks, byte at a time too', () => {
    const expected: Piece[] = [
      ['abcd', TRUNCATED],
      ['x', NEWLINE],
      ['€', TRUNCATED],
      ['tail', PARTIAL],
    ];
    assert.deepEqual(runT(4, ['ab', 'cdefg', 'hij', 'k\nx\n€€\ntail']), expected);
    assert.deepEqual(runT(4, bytes('abcdefghijk\nx\n€€\ntail')), expected);
  });

  test('a line of exactly the limit, with CRLF, is whole', () => {
    assert.deepEqual(runT(4, ['abcd\r\n', 'ab', 'cd\r', '\n']), [
      ['abcd', NEWLINE],
      ['abcd', NEWLINE],
    ]);
  });

  test('a long line cut by the end of the stream is truncated once', () => {
    assert.deepEqual(runT(4, ['abcdefgh']), [['abcd', TRUNCATED]]);
  });
});
