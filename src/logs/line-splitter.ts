/**
 * How a piece of app output ended: a newline, the length limit (SPLIT: more pieces follow;
 * TRUNCATED: the rest of the line was discarded), or the end of the stream.
 */
export const LineEnd = { NEWLINE: 0, SPLIT: 1, PARTIAL: 2, TRUNCATED: 3 } as const;
export type LineEnd = (typeof LineEnd)[keyof typeof LineEnd];

export type EmitLine = (text: string, end: LineEnd) => void;

const LF = 0x0a;
const CR = 0x0d;

/** What to do with a line longer than the limit. */
export type OverLong = 'split' | 'truncate';

/**
 * Cuts a byte stream into lines. A line longer than `maxBytes` is emitted in pieces of at most
 * `maxBytes` (cut on a UTF-8 character boundary), each but the last marked SPLIT; or, with
 * `truncate`, only its first piece is emitted, marked TRUNCATED, and the rest is skipped up to
 * the next newline. Bytes left without a newline when the stream ends come out marked PARTIAL,
 * so nothing is lost silently.
 */
export class LineSplitter {
  readonly #max: number;
  readonly #truncate: boolean;
  #pending: Buffer[] = [];
  #pendingLength = 0;
  /** True after a TRUNCATED piece, until the newline that ends its line. */
  #skipping = false;

  constructor(maxBytes: number, overLong: OverLong = 'split') {
    if (maxBytes < 4) throw new RangeError('maxBytes must be at least 4');
    this.#max = maxBytes;
    this.#truncate = overLong === 'truncate';
  }

  push(chunk: Buffer, emit: EmitLine): void {
    let start = 0;
    if (this.#skipping) {
      const nl = chunk.indexOf(LF);
      if (nl === -1) return;
      this.#skipping = false;
      start = nl + 1;
    }
    for (;;) {
      const nl = chunk.indexOf(LF, start);
      if (nl === -1) {
        if (start < chunk.length) this.#hold(chunk.subarray(start), emit);
        return;
      }
      let line = chunk.subarray(start, nl);
      if (this.#pendingLength > 0) {
        line = Buffer.concat([...this.#pending, line]);
        this.#pending = [];
        this.#pendingLength = 0;
      }
      this.#emit(line, LineEnd.NEWLINE, emit);
      start = nl + 1;
    }
  }

  /** Flushes what is left without a newline. */
  end(emit: EmitLine): void {
    this.#skipping = false;
    if (this.#pendingLength === 0) return;
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingLength = 0;
    this.#emit(rest, LineEnd.PARTIAL, emit);
  }

  #hold(piece: Buffer, emit: EmitLine): void {
    this.#pending.push(piece);
    this.#pendingLength += piece.length;
    // One byte over the limit is kept back: it may be the CR of a CRLF, which is not content.
    if (this.#pendingLength <= this.#max + 1) return;
    let buf = Buffer.concat(this.#pending);
    if (this.#truncate) {
      emit(buf.toString('utf8', 0, utf8Boundary(buf, this.#max)), LineEnd.TRUNCATED);
      this.#pending = [];
      this.#pendingLength = 0;
      this.#skipping = true;
      return;
    }
    while (buf.length > this.#max + 1) {
      const cut = utf8Boundary(buf, this.#max);
      emit(buf.toString('utf8', 0, cut), LineEnd.SPLIT);
      buf = buf.subarray(cut);
    }
    this.#pending = [buf];
    this.#pendingLength = buf.length;
  }

  #emit(line: Buffer, end: LineEnd, emit: EmitLine): void {
    let buf = line;
    if (end === LineEnd.NEWLINE && buf.length > 0 && buf[buf.length - 1] === CR)
      buf = buf.subarray(0, -1);
    if (this.#truncate && buf.length > this.#max) {
      emit(buf.toString('utf8', 0, utf8Boundary(buf, this.#max)), LineEnd.TRUNCATED);
      return;
    }
    while (buf.length > this.#max) {
      const cut = utf8Boundary(buf, this.#max);
      emit(buf.toString('utf8', 0, cut), LineEnd.SPLIT);
      buf = buf.subarray(cut);
    }
    emit(buf.toString('utf8'), end);
  }
}

/** The largest cut ≤ n that does not fall inside a UTF-8 multi-byte sequence. */
function utf8Boundary(buf: Buffer, n: number): number {
  let cut = n;
  // Continuation bytes are 10xxxxxx; a character is at most 4 bytes (RFC 3629).
  while (cut > n - 3 && (buf[cut] & 0xc0) === 0x80) cut -= 1;
  return cut;
}
