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
function hpackInt(value: number, prefixBits: number, firstByte: number): Buffer {
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
        s.write(Buffer.concat([PREFACE, initial]));
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
