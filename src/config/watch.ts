// Hot reload: the config file's directory is watched (an edit in place, an atomic rename and a
// Kubernetes ConfigMap `..data` symlink swap all show there), and each new text is parsed and
// validated whole before anything is applied.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FileWatch } from '../core/file-watch.ts';
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
  /** The file's directory and its symlink target's (core/file-watch.ts). */
  readonly #watch: FileWatch;
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
    this.#watch = new FileWatch({
      changed: () => this.#enqueue(),
      settleMs: SETTLE_MS,
      pollMs: POLL_MS,
    });
  }

  start(): void {
    this.#watch.watch([this.#path]);
  }

  close(): void {
    this.#closed = true;
    this.#watch.close();
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

  #enqueue(): void {
    this.#busy = this.#busy.then(() => this.#reload());
  }

  async #reload(force = false): Promise<void> {
    if (this.#closed) return;
    this.#watch.rewatch();
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
