// A small HTTP/2 frame crafter of the tests' own (RFC 9113 §4, RFC 7541 literals): it writes any
// frame, valid or not, over TLS with ALPN h2, and reads back the server's frames.
import { connect, type TLSSocket } from 'node:tls';

export const FrameType = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8 } as const;

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
export function hpackInt(value: number, prefixBits: number, firstByte: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([firstByte | value]);
  const out = [firstByte | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

const hpackString = (s: string): Buffer => {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([hpackInt(b.length, 7, 0), b]);
};

/**
 * RFC 7541 Appendix B codes (code, bit length) for the characters the tests Huffman-encode:
 * lowercase letters, digits and '-'.
 */
const HUFFMAN: Record<string, [number, number]> = {
  '-': [0x16, 6],
  '0': [0x0, 5],
  '1': [0x1, 5],
  '2': [0x2, 5],
  '3': [0x19, 6],
  '4': [0x1a, 6],
  '5': [0x1b, 6],
  '6': [0x1c, 6],
  '7': [0x1d, 6],
  '8': [0x1e, 6],
  '9': [0x1f, 6],
  a: [0x3, 5],
  b: [0x23, 6],
  c: [0x4, 5],
  d: [0x24, 6],
  e: [0x5, 5],
  f: [0x25, 6],
  g: [0x26, 6],
  h: [0x27, 6],
  i: [0x6, 5],
  j: [0x74, 7],
  k: [0x75, 7],
  l: [0x28, 6],
  m: [0x29, 6],
  n: [0x2a, 6],
  o: [0x7, 5],
  p: [0x2b, 6],
  q: [0x76, 7],
  r: [0x2c, 6],
  s: [0x8, 5],
  t: [0x9, 5],
  u: [0x2d, 6],
  v: [0x77, 7],
  w: [0x78, 7],
  x: [0x79, 7],
  y: [0x7a, 7],
  z: [0x7b, 7],
};
/** The end-of-string symbol: 30 one bits. */
export const HUFFMAN_EOS: [number, number] = [0x3fffffff, 30];

/**
 * Huffman-encodes `s` (RFC 7541 §5.2), padded with one bits to the octet. `insert.code` goes in
 * before character `insert.at` (say, the EOS symbol); `pad` replaces the padding ('0'/'1' bits).
 */
export function huffman(
  s: string,
  opts: { insert?: { at: number; code: [number, number] }; pad?: string } = {},
): Buffer {
  let bits = '';
  [...s].forEach((ch, i) => {
    if (opts.insert && opts.insert.at === i)
      bits += opts.insert.code[0].toString(2).padStart(opts.insert.code[1], '0');
    const c = HUFFMAN[ch];
    if (!c) throw new Error(`no Huffman code here for ${JSON.stringify(ch)}`);
    bits += c[0].toString(2).padStart(c[1], '0');
  });
  bits += opts.pad ?? '1'.repeat((8 - (bits.length % 8)) % 8);
  if (bits.length % 8) throw new Error('Huffman padding does not end on an octet');
  const out = Buffer.alloc(bits.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return out;
}

/**
 * An HPACK string literal with the H bit set when `h`: a string is then Huffman-coded here, a
 * Buffer is taken as already coded (so a test can send bad codes).
 */
export function hpackStr(s: string | Buffer, h = false): Buffer {
  const b = typeof s === 'string' ? (h ? huffman(s) : Buffer.from(s, 'latin1')) : s;
  return Buffer.concat([hpackInt(b.length, 7, h ? 0x80 : 0), b]);
}

/** Literal field without indexing, new name, no Huffman: any bytes at all, as given. */
export function literal(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00]), hpackString(name), hpackString(value)]);
}

/** Literal field with incremental indexing (adds it to the server's dynamic table). */
export function literalIndexed(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40]), hpackString(name), hpackString(value)]);
}

/** An indexed field (static table 1–61, dynamic table from 62). */
export function indexed(index: number): Buffer {
  return hpackInt(index, 7, 0x80);
}

export function block(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => literal(n, v)));
}

/** A plain GET's fields. */
export function getFields(path = '/', extra: [string, string][] = []): [string, string][] {
  return [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':authority', 'a.test'],
    [':path', path],
    ...extra,
  ];
}

export function settings(pairs: [number, number][] = []): Buffer {
  const p = Buffer.alloc(pairs.length * 6);
  pairs.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
}

export function rst(stream: number, code = 8 /* CANCEL */): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FrameType.RST_STREAM, 0, stream, p);
}

/** The :status of a response HEADERS block, for the forms a fresh HPACK encoder uses for it. */
export function statusOf(headerBlock: Buffer): number | undefined {
  const STATIC: Record<number, number> = {
    8: 200,
    9: 204,
    10: 206,
    11: 304,
    12: 400,
    13: 404,
    14: 500,
  };
  const b0 = headerBlock[0] ?? 0;
  if (b0 & 0x80) return STATIC[b0 & 0x7f];
  // Literal with (0x40) or without (0x00/0x10) indexing, name = static index 8 (:status).
  const nameIdx = b0 & 0x40 ? b0 & 0x3f : b0 & 0x0f;
  if (nameIdx !== 8) return undefined;
  const len = (headerBlock[1] ?? 0) & 0x7f;
  const raw = headerBlock.subarray(2, 2 + len);
  if (!((headerBlock[1] ?? 0) & 0x80)) return Number(raw.toString('latin1'));
  // Huffman (RFC 7541 Appendix B): digits 0–2 are 5-bit codes 0–2, digits 3–9 are 6-bit 25–31.
  let bits = '';
  for (const byte of raw) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  let i = 0;
  while (out.length < 3 && i + 5 <= bits.length) {
    const five = Number.parseInt(bits.slice(i, i + 5), 2);
    if (five <= 2) {
      out += String(five);
      i += 5;
    } else {
      out += String(Number.parseInt(bits.slice(i, i + 6), 2) - 22);
      i += 6;
    }
  }
  return Number(out);
}

/** A raw HTTP/2 connection. It acknowledges the server's SETTINGS and records every frame. */
export class H2Raw {
  readonly socket: TLSSocket;
  readonly frames: Frame[] = [];
  closed = false;
  #buf = Buffer.alloc(0);
  #waiters = new Set<() => void>();

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  static open(port: number, initial: Buffer = settings()): Promise<H2Raw> {
    return H2Raw.openRaw(port, Buffer.concat([PREFACE, initial]));
  }

  /** A TLS connection with ALPN h2 that starts with `first` exactly (no preface of its own). */
  static openRaw(port: number, first: Buffer): Promise<H2Raw> {
    return new Promise((resolve, reject) => {
      const s = connect({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
      });
      s.once('secureConnect', () => {
        if (s.alpnProtocol !== 'h2') reject(new Error(`ALPN gave ${s.alpnProtocol}`));
        s.setNoDelay(true);
        const h = new H2Raw(s);
        if (first.length > 0) s.write(first);
        resolve(h);
      });
      s.once('error', reject);
    });
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  #onData(d: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, d]);
    while (this.#buf.length >= 9) {
      const len = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + len) break;
      const f: Frame = {
        type: this.#buf[3] as number,
        flags: this.#buf[4] as number,
        stream: this.#buf.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.#buf.subarray(9, 9 + len)),
      };
      this.#buf = this.#buf.subarray(9 + len);
      this.frames.push(f);
      if (f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK) && this.socket.writable)
        this.socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    }
    this.#wake();
  }

  /** Writes bytes, resolving once they are handed to the kernel (false if the socket is gone). */
  send(bytes: Buffer): Promise<boolean> {
    if (this.closed || !this.socket.writable) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(bytes, (err) => resolve(!err)));
  }

  headers(stream: number, fields: [string, string][], endStream = true): Buffer {
    return frame(
      FrameType.HEADERS,
      Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0),
      stream,
      block(fields),
    );
  }

  /**
   * Waits (bounded) for the SETTINGS exchange: the server's SETTINGS and its ACK of ours.
   * Resolves false if either is missing.
   */
  handshake(maxMs = 5000): Promise<boolean> {
    const done = (): boolean =>
      this.peerSettings !== undefined &&
      this.frames.some((f) => f.type === FrameType.SETTINGS && f.flags & Flag.ACK);
    return this.until(done, maxMs);
  }

  /** The server's first (non-ACK) SETTINGS, by identifier; undefined until it arrives. */
  get peerSettings(): Map<number, number> | undefined {
    const f = this.frames.find((x) => x.type === FrameType.SETTINGS && !(x.flags & Flag.ACK));
    if (!f) return undefined;
    const m = new Map<number, number>();
    for (let i = 0; i + 6 <= f.payload.length; i += 6)
      m.set(f.payload.readUInt16BE(i), f.payload.readUInt32BE(i + 2));
    return m;
  }

  get goaway(): { lastStream: number; code: number } | undefined {
    const g = this.frames.find((f) => f.type === FrameType.GOAWAY);
    return g
      ? { lastStream: g.payload.readUInt32BE(0) & 0x7fffffff, code: g.payload.readUInt32BE(4) }
      : undefined;
  }

  /** Waits (bounded) until `pred` holds or the connection closes. */
  async until(pred: () => boolean, maxMs = 5000): Promise<boolean> {
    if (pred() || this.closed) return pred();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve(pred());
      };
      const check = (): void => {
        if (pred() || this.closed) done();
      };
      const timer = setTimeout(done, maxMs);
      this.#waiters.add(check);
    });
  }

  /** What the server did with one stream: a response status, a reset code, or nothing yet. */
  outcome(stream: number): { status?: number; reset?: number } {
    for (const f of this.frames) {
      if (f.stream !== stream) continue;
      if (f.type === FrameType.HEADERS) return { status: statusOf(f.payload) };
      if (f.type === FrameType.RST_STREAM) return { reset: f.payload.readUInt32BE(0) };
    }
    return {};
  }

  close(): void {
    this.socket.destroy();
  }
}
