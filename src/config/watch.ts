// Hot reload: the config file's directory is watched (an edit in place, an atomic rename and a
// Kubernetes ConfigMap `..data` symlink swap all show there), and each new text is parsed and
// validated whole before anything is applied.
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
import { ConfigError } from './load.ts';

export interface ConfigWatchOptions {
  /** The file as named to the user (errors use this name), and the directory it is relative to. */
  file: string;
  cwd?: string;
  /**
   * Resolves and applies the file's new text; if it throws, the reload counts as rejected and
   * nothing changed. A ConfigError is the text's own fault: that text is not tried again.
   */
  apply: (text: string) => Promise<void>;
  /** Told of each rejection; the last good config stays in force. */
  rejected: (err: unknown, counts: ReloadCounts) => void;
  applied: (counts: ReloadCounts) => void;
  /** Where to count; the Sidecar's counters, so that the metrics can read them. */
  counts?: ReloadCounts;
}

export interface ReloadCounts {
  applied: number;
  rejected: number;
}

/** How long a burst of file events settles before the file is read (an editor writes twice). */
const SETTLE_MS = 100;
/**
 * Poll period: catches a change the watch missed (e.g. the directory was replaced). The poll
 * reads at once, never through the settle timer, so that no stream of events can delay it.
 */
const POLL_MS = 2000;

export class ConfigWatcher {
  readonly #opts: ConfigWatchOptions;
  readonly #path: string;
  readonly counts: ReloadCounts;
  /** Per watched directory, the names in it whose events can change the config's text. */
  #watchers = new Map<string, { w: FSWatcher; names: Set<string> }>();
  #poll: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  /** The text in force: recorded only once it was applied. */
  #lastHash: string;
  /** Text that failed validation: tried again only once it changes. */
  #invalidHash = '';
  /** The last failure to apply valid text (a port in use): retried each poll, logged when it changes. */
  #lastFailure = '';
  #busy: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: ConfigWatchOptions) {
    this.#opts = opts;
    this.counts = opts.counts ?? { applied: 0, rejected: 0 };
    this.#path = resolve(opts.cwd ?? process.cwd(), opts.file);
    this.#lastHash = this.#hash(this.#read());
  }

  start(): void {
    this.#rewatch();
    this.#poll = setInterval(() => this.#enqueue(), POLL_MS);
    this.#poll.unref();
  }

  /**
   * Watches the file's directory (renames and symlink swaps show there) and, when the file is
   * a symlink, its target's directory too (an edit in place of the target shows only there).
   * Only events naming the file, its target or the link's first step (a ConfigMap's `..data`)
   * count: another file in the same directory (a log file written at each request) would
   * otherwise restart the settle timer at every write, and under load it never fires.
   */
  #rewatch(): void {
    const names = new Map<string, Set<string>>();
    const add = (dir: string, name: string): void => {
      const set = names.get(dir) ?? new Set<string>();
      set.add(name);
      names.set(dir, set);
    };
    add(dirname(this.#path), basename(this.#path));
    try {
      if (lstatSync(this.#path).isSymbolicLink()) {
        const link = readlinkSync(this.#path);
        if (!isAbsolute(link)) add(dirname(this.#path), link.split(/[\\/]/)[0] as string);
      }
      const target = realpathSync(this.#path);
      add(dirname(target), basename(target));
    } catch {
      // Gone for a moment during a swap: the next change or poll looks again.
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
          // No name given (some platforms): it may be the file.
          if (name === null || this.#watchers.get(dir)?.names.has(String(name))) this.#changed();
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

  /** Reads and applies the file now, even if its text is unchanged (SIGHUP). */
  reloadNow(): Promise<void> {
    this.#busy = this.#busy.then(() => this.#reload(true));
    return this.#busy;
  }

  /** Resolves once the reloads started so far have finished. */
  settled(): Promise<void> {
    return this.#busy;
  }

  #read(): string | undefined {
    try {
      return readFileSync(this.#path, 'utf8');
    } catch {
      return undefined;
    }
  }

  #hash(text: string | undefined): string {
    return text === undefined ? '-' : createHash('sha256').update(text).digest('hex');
  }

  #changed(): void {
    clearTimeout(this.#settle);
    this.#settle = setTimeout(() => this.#enqueue(), SETTLE_MS);
    this.#settle.unref();
  }

  #enqueue(): void {
    this.#busy = this.#busy.then(() => this.#reload());
  }

  async #reload(force = false): Promise<void> {
    if (this.#closed) return;
    this.#rewatch();
    const text = this.#read();
    const hash = this.#hash(text);
    // Unchanged text, or the file gone for a moment during a swap: nothing to do.
    if (text === undefined) return;
    if (!force && (hash === this.#lastHash || hash === this.#invalidHash)) return;
    if (force) this.#lastFailure = '';
    try {
      await this.#opts.apply(text);
    } catch (err) {
      if (err instanceof ConfigError) this.#invalidHash = hash;
      const why = `${hash}:${(err as Error).message}`;
      // A valid text that could not be applied is retried at each poll; told once per reason.
      if (why === this.#lastFailure) return;
      this.#lastFailure = why;
      this.counts.rejected++;
      this.#opts.rejected(err, { ...this.counts });
      return;
    }
    this.#lastHash = hash;
    this.#lastFailure = '';
    this.counts.applied++;
    this.#opts.applied({ ...this.counts });
  }
}
