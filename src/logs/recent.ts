// The most recent log lines, kept in memory for the admin API (`/api/v1/logs`) and handed to
// live subscribers (`/api/v1/logs/stream`). Bounded by count and bytes; a chunk is kept as
// written and split into lines only when read, so the writers pay one array store.

/** One log line as the API serves it: the JSON line's fields, or `{msg}` for a human-format line. */
export type LineObject = Record<string, unknown>;

export interface RecentOptions {
  /** Chunks kept (a chunk holds one or more lines). */
  maxChunks: number;
  /** Bytes kept, at most (about: UTF-16 length is counted). */
  maxBytes: number;
}

export const RECENT_DEFAULTS: RecentOptions = { maxChunks: 2000, maxBytes: 1 << 20 };

export class RecentLines {
  readonly #opts: RecentOptions;
  #chunks: string[] = [];
  #bytes = 0;
  readonly #subscribers = new Set<(line: LineObject) => void>();

  constructor(opts: RecentOptions = RECENT_DEFAULTS) {
    this.#opts = opts;
  }

  /** Called by the log output with each chunk it writes. */
  add(chunk: string): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    while (
      this.#chunks.length > this.#opts.maxChunks ||
      (this.#bytes > this.#opts.maxBytes && this.#chunks.length > 1)
    ) {
      this.#bytes -= (this.#chunks.shift() as string).length;
    }
    if (this.#subscribers.size === 0) return;
    for (const line of splitLines(chunk)) for (const s of this.#subscribers) s(line);
  }

  /** The last `n` lines, oldest first. */
  recent(n: number): LineObject[] {
    const out: LineObject[] = [];
    for (let i = this.#chunks.length - 1; i >= 0 && out.length < n; i--) {
      const lines = splitLines(this.#chunks[i]);
      for (let j = lines.length - 1; j >= 0 && out.length < n; j--) out.push(lines[j]);
    }
    return out.reverse();
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
