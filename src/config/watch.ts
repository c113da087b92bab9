// Hot reload: the config file's directory is watched (an edit in place, an atomic rename and a
// Kubernetes ConfigMap `..data` symlink swap all show there), and each new text is parsed and
// validated whole before anything is applied.
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type LoadedConfig, parseConfig } from './load.ts';

export interface ConfigWatchOptions {
  /** The file as named to the user (errors use this name), and the directory it is relative to. */
  file: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Applies a valid config; if it throws, the reload counts as rejected. */
  apply: (loaded: LoadedConfig) => Promise<void>;
  /** Told of each rejection; the last good config stays in force. */
  rejected: (err: unknown, counts: ReloadCounts) => void;
  applied: (counts: ReloadCounts) => void;
}

export interface ReloadCounts {
  applied: number;
  rejected: number;
}

/** How long a burst of file events settles before the file is read (an editor writes twice). */
const SETTLE_MS = 100;
/** Poll period: catches a change the watch missed (e.g. the directory was replaced). */
const POLL_MS = 2000;

export class ConfigWatcher {
  readonly #opts: ConfigWatchOptions;
  readonly #path: string;
  readonly counts: ReloadCounts = { applied: 0, rejected: 0 };
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #settle: NodeJS.Timeout | undefined;
  #lastHash: string;
  #busy: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(opts: ConfigWatchOptions) {
    this.#opts = opts;
    this.#path = resolve(opts.cwd ?? process.cwd(), opts.file);
    this.#lastHash = this.#hash(this.#read());
  }

  start(): void {
    try {
      this.#watcher = watch(dirname(this.#path), { persistent: false }, () => this.#changed());
      this.#watcher.on('error', () => {});
    } catch {
      // The directory cannot be watched: the poll below still sees changes.
    }
    this.#poll = setInterval(() => this.#changed(), POLL_MS);
    this.#poll.unref();
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    clearInterval(this.#poll);
    clearTimeout(this.#settle);
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
    this.#settle = setTimeout(() => {
      this.#busy = this.#busy.then(() => this.#reload());
    }, SETTLE_MS);
    this.#settle.unref();
  }

  async #reload(): Promise<void> {
    if (this.#closed) return;
    const text = this.#read();
    const hash = this.#hash(text);
    // Unchanged text, or the file gone for a moment during a swap: nothing to do.
    if (hash === this.#lastHash || text === undefined) return;
    this.#lastHash = hash;
    let loaded: LoadedConfig;
    try {
      loaded = parseConfig(text, this.#opts.file, this.#opts.env ?? process.env);
      await this.#opts.apply(loaded);
    } catch (err) {
      this.counts.rejected++;
      this.#opts.rejected(err, { ...this.counts });
      return;
    }
    this.counts.applied++;
    this.#opts.applied({ ...this.counts });
  }
}
