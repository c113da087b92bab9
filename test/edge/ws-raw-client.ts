// A raw WebSocket client of the tests' own: exact frame bytes (masked), written whole or chopped,
// server frames parsed to answer a close the way a conforming client does (RFC 6455 §5.5.1).
import { createHash } from 'node:crypto';
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls } from 'node:tls';

export const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** The Sec-WebSocket-Accept value for `key` (RFC 6455 §4.2.2). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

export interface FrameSpec {
  fin?: boolean;
  rsv?: number; // 0..7: RSV1 = 4, RSV2 = 2, RSV3 = 1
  op: number;
  payload?: Buffer | string;
}

const MASK = [0x37, 0xfa, 0x21, 0x3d];

/** One masked client frame, with the shortest length encoding. */
export function frame(f: FrameSpec): Buffer {
  const p = typeof f.payload === 'string' ? Buffer.from(f.payload) : (f.payload ?? Buffer.alloc(0));
  const b0 = ((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | f.op;
  let head: Buffer;
  if (p.length < 126) head = Buffer.from([b0, 0x80 | p.length]);
  else if (p.length < 65536) head = Buffer.from([b0, 0x80 | 126, p.length >> 8, p.length & 0xff]);
  else {
    head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(p.length), 2);
  }
  const body = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) body[i] = (p[i] as number) ^ (MASK[i % 4] as number);
  return Buffer.concat([head, Buffer.from(MASK), body]);
}

/** A close frame's payload: the code, then a reason. */
export function closePayload(code: number, reason: Buffer | string = ''): Buffer {
  const c = Buffer.alloc(2);
  c.writeUInt16BE(code);
  return Buffer.concat([c, Buffer.from(reason)]);
}

/** Opens a connection (TLS to Pillion, or TCP straight to the app) and completes the upgrade. */
export async function upgradeRaw(
  port: number,
  tls: boolean,
): Promise<{ sock: Duplex; head: string; rest: Buffer }> {
  const sock: Duplex = tls
    ? connectTls({
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
      })
    : connectTcp({ host: '127.0.0.1', port });
  sock.write(
    `GET /echo HTTP/1.1\r\nHost: a.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      sock.off('error', reject);
      sock.pause();
      resolve({ sock, head: buf.subarray(0, end).toString(), rest: buf.subarray(end + 4) });
    };
    sock.on('data', onData);
    sock.once('error', reject);
  });
}

export interface CaseResult {
  /** Every byte the server sent after the 101 head, until it closed. */
  bytes: Buffer;
  /** The code in the server's close frame, 'none' for a close without one, undefined if none came. */
  closeCode: number | 'none' | undefined;
}

/**
 * Writes `bytes` in writes of `chop` bytes (0: whole), answers the server's close frame with a
 * close echoing its code (unless the bytes hold a close the server accepts), and resolves when the server ends the connection (at most `waitMs`).
 */
export function runCase(
  sock: Duplex,
  rest: Buffer,
  bytes: Buffer,
  chop: number,
  answerClose = !bytesHoldClose(bytes),
  waitMs = 10_000,
): Promise<CaseResult> {
  const got: Buffer[] = [];
  let parse = Buffer.alloc(0);
  let closeCode: CaseResult['closeCode'];
  let sentClose = !answerClose;
  const onBytes = (d: Buffer): void => {
    got.push(d);
    parse = Buffer.concat([parse, d]);
    for (;;) {
      if (parse.length < 2) return;
      const len7 = (parse[1] as number) & 0x7f;
      const hl = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      if (parse.length < hl) return;
      const len =
        len7 === 126
          ? parse.readUInt16BE(2)
          : len7 === 127
            ? Number(parse.readBigUInt64BE(2))
            : len7;
      if (parse.length < hl + len) return;
      const op = (parse[0] as number) & 0x0f;
      const payload = parse.subarray(hl, hl + len);
      parse = parse.subarray(hl + len);
      if (op === 8 && closeCode === undefined) {
        closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 'none';
        if (!sentClose && sock.writable) {
          sentClose = true;
          sock.write(frame({ op: 8, payload: payload.subarray(0, 2) }));
        }
      }
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`the server did not close within ${waitMs} ms`));
    }, waitMs);
    let settled = false;
    // The server's end of the stream (FIN, or END_STREAM on HTTP/2) is the end of the case.
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ bytes: Buffer.concat(got), closeCode });
      sock.destroy();
    };
    sock.on('error', () => {});
    sock.once('end', done);
    sock.once('close', done);
    sock.on('data', onBytes);
    sock.resume();
    if (rest.length > 0) onBytes(rest);
    if (chop <= 0) sock.write(bytes);
    else for (let i = 0; i < bytes.length; i += chop) sock.write(bytes.subarray(i, i + chop));
  });
}

/** True when the client's own bytes already include a close frame. */
export function bytesHoldClose(bytes: Buffer): boolean {
  let i = 0;
  while (i + 2 <= bytes.length) {
    const op = (bytes[i] as number) & 0x0f;
    const len7 = (bytes[i + 1] as number) & 0x7f;
    const hl = (len7 === 126 ? 4 : len7 === 127 ? 10 : 2) + 4;
    if (i + hl > bytes.length) return false;
    const len =
      len7 === 126
        ? bytes.readUInt16BE(i + 2)
        : len7 === 127
          ? Number(bytes.readBigUInt64BE(i + 2))
          : len7;
    if (op === 8) return true;
    i += hl + len;
  }
  return false;
}
