// The most recent log lines, kept in memory for the admin API (`/api/v1/logs`) and handed to
// live subscribers (`/api/v1/logs/stream`). Bounded in bytes; split into lines only when read.

/** One log line as the API serves it: the JSON line's fields, or `{msg}` for a human-format line. */
export type LineObject = Record<string, unknown>;

export interface RecentOptions {
  /** Bytes kept, at most: two halves of this size each, the older one dropped when the newer fills. */
  halfBytes: number;
}

export const RECENT_DEFAULTS: RecentOptions = { halfBytes: 256 * 1024 };

/**
 * The lines are copied into two fixed buffers, never kept as strings: keeping the strings
 * themselves let each survive young-generation collections and grew the heap by 30 MB under
 * a flood of app lines (the stalled-sink test's peak RSS); a copy costs one UTF-8 encode.
 */
export class RecentLines {
  #current: Buffer;
  #previous: Buffer;
  #used = 0;
  #previousUsed = 0;
  readonly #subscribers = new Set<(line: LineObject) => void>();

  constructor(opts: RecentOptions = RECENT_DEFAULTS) {
    this.#current = Buffer.allocUnsafe(opts.halfBytes);
    this.#previous = Buffer.allocUnsafe(opts.halfBytes);
  }

  /** Called by the log output with each chunk it writes. */
  add(chunk: string): void {
    const size = this.#current.length;
    // A UTF-16 unit takes at most 3 bytes: with that much room the chunk fits whole.
    if (chunk.length * 3 > size - this.#used) {
      if (chunk.length * 3 > size) return; // larger than a half: not kept
      const old = this.#previous;
      this.#previous = this.#current;
      this.#previousUsed = this.#used;
      this.#current = old;
      this.#used = 0;
    }
    this.#used += this.#current.write(chunk, this.#used);
    if (this.#subscribers.size === 0) return;
    for (const line of splitLines(chunk)) for (const s of this.#subscribers) s(line);
  }

  /** The last `n` lines, oldest first. */
  recent(n: number): LineObject[] {
    const text =
      this.#previous.toString('utf8', 0, this.#previousUsed) +
      this.#current.toString('utf8', 0, this.#used);
    const lines = splitLines(text);
    return lines.slice(Math.max(0, lines.length - n));
  }

  /** Calls `fn` with each new line until the returned function is called. */
  subscribe(fn: (line: LineObject) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }
}

function splitLines(chunk: string): LineObject[] {
  const out: LineObject[] = [];
  for (const text of chunk.split('\n')) {
    if (text === '') continue;
    try {
      const v = JSON.parse(text) as unknown;
      out.push(
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? (v as LineObject)
          : { msg: text },
      );
    } catch {
      out.push({ msg: text });
    }
  }
  return out;
}
