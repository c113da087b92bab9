/**
 * Follows WebSocket frame boundaries in a byte stream (RFC 6455 §5.2) without touching the
 * bytes, so a close frame can be put between two frames, never inside one, and a frame over the
 * caps is stopped before any byte of it is passed on.
 */

/** Why a gate stopped: the frame in flight ended (drain), or a frame or message over a cap. */
export type GateStop = 'boundary' | 'frame' | 'message';

/** Size caps on a direction; a data message is the sum of its fragments (§5.4). */
export interface FrameCaps {
  maxFrameBytes: number;
  maxMessageBytes: number;
}

export interface GateOut {
  /** The bytes that may pass now, in order; together, a prefix of the stream as it came. */
  pass: Buffer[];
  stop?: GateStop;
}

export class FrameGate {
  readonly #caps: FrameCaps | undefined;
  /** Header bytes seen so far (at most 14); those from earlier chunks are held back. */
  #head: number[] = [];
  #need = 2;
  #payload = 0;
  #message = 0;
  /**
   * The status code of the first close frame seen (RFC 6455 §7.1.5; 1005 for one without a
   * code): what the tunnel's span reports. Its two bytes are read as they pass, unmasked.
   */
  closeCode: number | undefined = undefined;
  /** Bytes of the close code still to read (0: none), the mask and the code read so far. */
  #codeNeed = 0;
  #codeMask: Buffer | undefined = undefined;
  #code = 0;

  constructor(caps?: FrameCaps) {
    this.#caps = caps;
  }

  /** True between frames: nothing of a frame has been passed on without its end. */
  get atBoundary(): boolean {
    return this.#payload === 0;
  }

  /**
   * Splits `chunk` into what may pass. With `untilBoundary`, stops at the end of the frame in
   * flight. A frame header is held back until it is whole, so a frame over the caps is refused
   * before its first byte passes.
   */
  feed(chunk: Buffer, untilBoundary = false): GateOut {
    const pass: Buffer[] = [];
    if (untilBoundary && this.#payload === 0) {
      this.#head = [];
      return { pass, stop: 'boundary' };
    }
    const from = 0;
    // Where the header in progress started in this chunk; -1 when it started in an earlier one.
    let headAt = -1;
    let i = 0;
    while (i < chunk.length) {
      if (this.#payload > 0) {
        const take = Math.min(this.#payload, chunk.length - i);
        if (this.#codeNeed > 0) this.#readCode(chunk, i, take);
        this.#payload -= take;
        i += take;
        if (this.#payload === 0 && untilBoundary) {
          pass.push(chunk.subarray(from, i));
          return { pass, stop: 'boundary' };
        }
        continue;
      }
      if (this.#head.length === 0) headAt = i;
      this.#head.push(chunk[i] as number);
      i++;
      if (this.#head.length === 2) {
        const b1 = this.#head[1] as number;
        const len7 = b1 & 0x7f;
        this.#need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      }
      if (this.#head.length < 2 || this.#head.length < this.#need) continue;
      const h = Buffer.from(this.#head);
      const len7 = (h[1] as number) & 0x7f;
      const len =
        len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? Number(h.readBigUInt64BE(2)) : len7;
      const over = this.#check(h[0] as number, len);
      if (over) {
        if (headAt > from) pass.push(chunk.subarray(from, headAt));
        return { pass, stop: over };
      }
      if (((h[0] as number) & 0x0f) === 8 && this.closeCode === undefined) this.#closeHead(h, len);
      // Header bytes held from earlier chunks go first; this chunk's run starts at 0.
      if (headAt < 0) pass.push(h.subarray(0, h.length - i));
      this.#head = [];
      this.#need = 2;
      this.#payload = len;
      headAt = -1;
      if (len === 0 && untilBoundary) {
        pass.push(chunk.subarray(from, i));
        return { pass, stop: 'boundary' };
      }
    }
    if (this.#head.length === 0) pass.push(chunk.subarray(from));
    else if (headAt > from) pass.push(chunk.subarray(from, headAt));
    return { pass };
  }

  /** A close frame's header: its code is read from the payload's first two bytes. */
  #closeHead(h: Buffer, len: number): void {
    if (len < 2) {
      this.closeCode = 1005;
      return;
    }
    this.#codeNeed = 2;
    this.#code = 0;
    this.#codeMask = (h[1] as number) & 0x80 ? h.subarray(h.length - 4) : undefined;
  }

  #readCode(chunk: Buffer, at: number, take: number): void {
    const n = Math.min(this.#codeNeed, take);
    for (let k = 0; k < n; k++) {
      const j = 2 - this.#codeNeed;
      const mask = this.#codeMask;
      this.#code =
        (this.#code << 8) | ((chunk[at + k] as number) ^ (mask ? (mask[j] as number) : 0));
      this.#codeNeed--;
    }
    if (this.#codeNeed === 0) this.closeCode = this.#code;
  }

  #check(b0: number, len: number): GateStop | undefined {
    const caps = this.#caps;
    if (!caps) return undefined;
    if (len > caps.maxFrameBytes) return 'frame';
    const opcode = b0 & 0x0f;
    if (opcode >= 8) return undefined; // control frames are no part of a message
    this.#message = opcode === 0 ? this.#message + len : len;
    if (this.#message > caps.maxMessageBytes) return 'message';
    if (b0 & 0x80) this.#message = 0;
    return undefined;
  }
}

/** A close frame with `code` (1001: going away; 1009: too big); masked when sent towards a server. */
export function closeFrame(code: number, masked: boolean): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  if (!masked) return Buffer.concat([Buffer.from([0x88, 2]), payload]);
  const mask = Buffer.from([0x5a, 0x17, 0xc3, 0x9e]);
  const out = Buffer.from([0x88, 0x82, ...mask, 0, 0]);
  for (let i = 0; i < 2; i++) out[6 + i] = (payload[i] as number) ^ (mask[i] as number);
  return out;
}
