// Watches a set of files for changes the way Kubernetes and editors make them: each file's
// directory is watched (an atomic rename and a mounted Secret's `..data` symlink swap show
// only there), and so is its symlink target's directory (an edit in place of the target).
// A poll catches what the watch misses (a replaced directory, a filesystem without events).
import { createHash } from 'node:crypto';
import {
  type FSWatcher,
  lstatSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  watch,
} from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';

export interface FileWatchOptions {
  /** Called when a watched file may have changed; compare `contentKey` to know. */
  changed: () => void;
  /** How long a burst of events settles before `changed` (an editor writes twice). */
  settleMs?: number;
  /** Poll period; `changed` is called at each poll, never through the settle timer. */
  pollMs?: number;
}

/** A digest of the files' names and bytes, in order; a missing file counts as its own value. */
export function contentKey(files: readonly string[]): string {
  const digest = createHash('sha256');
  for (const f of files) {
    digest.update(f).update('\0');
    try {
      digest.update(readFileSync(f)).update('\0');
    } catch {
      digest.update('\u0001missing\0');
    }
  }
  return digest.digest('hex');
}

export class FileWatch {
  readonly #opts: FileWatchOptions;
  #files: string[] = [];
  /** Per watched directory, the names in it whose events count. */
  readonly #watchers = new Map<string, { w: FSWatcher; names: Set<string> }>();
  #poll: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: FileWatchOptions) {
    this.#opts = opts;
  }

  /** Watches these files from now on (absolute, or relative to the working directory). */
  watch(files: readonly string[]): void {
    this.#files = files.map((f) => resolve(f));
    this.rewatch();
    if (!this.#poll && !this.#closed) {
      this.#poll = setInterval(() => this.#opts.changed(), this.#opts.pollMs ?? 1000);
      this.#poll.unref();
    }
  }

  /**
   * Looks again at where each file leads (a swap moves a symlink's target) and watches those
   * directories. Only events naming a file, its target or a link's first step (a Secret's
   * `..data`) count: another file in the same directory written at each request would otherwise
   * hold the settle timer off for ever.
   */
  rewatch(): void {
    if (this.#closed) return;
    const names = new Map<string, Set<string>>();
    const add = (dir: string, name: string): void => {
      const set = names.get(dir) ?? new Set<string>();
      set.add(name);
      names.set(dir, set);
    };
    for (const file of this.#files) {
      add(dirname(file), basename(file));
      try {
        if (lstatSync(file).isSymbolicLink()) {
          const link = readlinkSync(file);
          if (!isAbsolute(link)) add(dirname(file), link.split(/[\\/]/)[0] as string);
        }
        const target = realpathSync(file);
        add(dirname(target), basename(target));
      } catch {
        // Gone for a moment during a swap: the next change or poll looks again.
      }
    }
    for (const [dir, { w }] of this.#watchers) {
      if (!names.has(dir)) {
        w.close();
        this.#watchers.delete(dir);
      }
    }
    for (const [dir, wanted] of names) {
      const had = this.#watchers.get(dir);
      if (had) {
        had.names = wanted;
        continue;
      }
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          // No name given (some platforms): it may be one of ours.
          if (name === null || this.#watchers.get(dir)?.names.has(String(name))) this.#event();
        });
        w.on('error', () => {
          w.close();
          this.#watchers.delete(dir);
        });
        this.#watchers.set(dir, { w, names: wanted });
      } catch {
        // The directory cannot be watched: the poll still sees changes.
      }
    }
  }

  close(): void {
    this.#closed = true;
    for (const { w } of this.#watchers.values()) w.close();
    this.#watchers.clear();
    clearInterval(this.#poll);
    clearTimeout(this.#settle);
  }

  #event(): void {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => this.#opts.changed(), this.#opts.settleMs ?? 100);
    this.#settle.unref();
  }
}
