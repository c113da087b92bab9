// Watches a few files (certificate material) for a change of content. The directory is watched,
// not the file: an atomic rename and a Kubernetes Secret's `..data` symlink swap show there
// only. A slow poll catches what the watch misses (a replaced directory, a network filesystem).
// The callback runs when the bytes changed, never for a touch.
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname } from 'node:path';

/** A burst of events (write, then rename) settles this long before the files are read. */
const SETTLE_MS = 100;
const POLL_MS = 2000;

function digest(files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    try {
      h.update(readFileSync(f));
    } catch (err) {
      h.update(`missing:${(err as NodeJS.ErrnoException).code}`);
    }
    h.update('\0');
  }
  return h.digest('hex');
}

export class FileWatch {
  readonly #files: readonly string[];
  readonly #onChange: () => void;
  readonly #watchers: FSWatcher[] = [];
  readonly #poll: NodeJS.Timeout;
  #settle: NodeJS.Timeout | undefined;
  #last: string;

  /** Calls `onChange` after the content of any of `files` changed (as read now). */
  constructor(files: readonly string[], onChange: () => void) {
    this.#files = files;
    this.#onChange = onChange;
    this.#last = digest(files);
    for (const dir of new Set(files.map((f) => dirname(f)))) {
      try {
        const w = watch(dir, () => this.#soon());
        w.on('error', () => {});
        w.unref();
        this.#watchers.push(w);
      } catch {
        // A directory that cannot be watched is polled only.
      }
    }
    this.#poll = setInterval(() => this.#check(), POLL_MS);
    this.#poll.unref();
  }

  #soon(): void {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => this.#check(), SETTLE_MS);
    this.#settle.unref();
  }

  #check(): void {
    const now = digest(this.#files);
    if (now === this.#last) return;
    this.#last = now;
    this.#onChange();
  }

  close(): void {
    clearTimeout(this.#settle);
    clearInterval(this.#poll);
    for (const w of this.#watchers) w.close();
  }
}
