/**
 * Follows WebSocket frame boundaries in a byte stream (RFC 6455 §5.2) without touching the
 * bytes, so a close frame can be put between two frames, never inside one.
 */
export class FrameCursor {
  #head: number[] = [];
  #need = 2;
  #payload = 0;

  get atBoundary(): boolean {
    return this.#head.length === 0 && this.#payload === 0;
  }

  /** Follows `chunk`; returns the offset just after the first frame that ends in it, or -1. */
  feed(chunk: Buffer): number {
    let i = 0;
    let first = -1;
    while (i < chunk.length) {
      if (this.#payload > 0) {
        const take = Math.min(this.#payload, chunk.length - i);
        this.#payload -= take;
        i += take;
        if (this.#payload === 0 && first < 0) first = i;
        continue;
      }
      this.#head.push(chunk[i] as number);
      i++;
      if (this.#head.length === 2) {
        const b1 = this.#head[1] as number;
        const len7 = b1 & 0x7f;
        this.#need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      }
      if (this.#head.length >= 2 && this.#head.length === this.#need) {
        const h = Buffer.from(this.#head);
        const len7 = (h[1] as number) & 0x7f;
        this.#payload =
          len7 === 126 ? h.readUInt16BE(2) : len7 === 127 ? Number(h.readBigUInt64BE(2)) : len7;
        this.#head = [];
        this.#need = 2;
        if (this.#payload === 0 && first < 0) first = i;
      }
    }
    return first;
  }
}

/** A close frame with `code` (1001: going away); masked when sent towards a server. */
export function closeFrame(code: number, masked: boolean): Buffer {
  const payload = Buffer.alloc(2);
  payload.writeUInt16BE(code);
  if (!masked) return Buffer.concat([Buffer.from([0x88, 2]), payload]);
  const mask = Buffer.from([0x5a, 0x17, 0xc3, 0x9e]);
  const out = Buffer.from([0x88, 0x82, ...mask, 0, 0]);
  for (let i = 0; i < 2; i++) out[6 + i] = (payload[i] as number) ^ (mask[i] as number);
  return out;
}
