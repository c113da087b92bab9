// Where the app's secrets come from (a file or Pillion's environment), read on each request,
// and which of them changed: file secrets are watched through their directory, so a
// Kubernetes Secret's `..data` symlink swap is seen as well as an edit in place.
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { SecretRef } from '../config/schema.ts';

/** How long a burst of file events settles before the files are read again. */
const SETTLE_MS = 50;
/** Poll period for a directory that cannot be watched (e.g. not there yet). */
const POLL_MS = 1000;

export class SecretStore {
  #refs: Record<string, SecretRef> = {};
  readonly #env: NodeJS.ProcessEnv;
  readonly #onChange: (name: string) => void;
  #hashes = new Map<string, string>();
  #watchers: FSWatcher[] = [];
  #timers: NodeJS.Timeout[] = [];
  #settle: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(env: NodeJS.ProcessEnv, onChange: (name: string) => void) {
    this.#env = env;
    this.#onChange = onChange;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#refs, name);
  }

  sourceOf(name: string): 'file' | 'env' | undefined {
    const ref = this.#refs[name];
    return ref ? (ref.file !== undefined ? 'file' : 'env') : undefined;
  }

  /** The secret's current value; undefined if it is not defined or cannot be read now. */
  async read(name: string): Promise<Buffer | undefined> {
    const ref = this.#refs[name];
    if (!ref) return undefined;
    if (ref.file !== undefined) return readFile(ref.file).catch(() => undefined);
    const v = this.#env[ref.env as string];
    return v === undefined ? undefined : Buffer.from(v);
  }

  /** Replaces the set of secrets; names whose source changed are reported as changed. */
  async set(refs: Record<string, SecretRef>): Promise<void> {
    const before = this.#refs;
    this.#refs = { ...refs };
    this.#rewatch();
    const names = new Set([...Object.keys(before), ...Object.keys(refs)]);
    for (const name of names) {
      if (JSON.stringify(before[name]) !== JSON.stringify(refs[name])) {
        this.#hashes.set(name, await this.#hash(name));
        this.#onChange(name);
      }
    }
  }

  /** Stores the current hashes without reporting changes (at start). */
  async init(refs: Record<string, SecretRef>): Promise<void> {
    this.#refs = { ...refs };
    for (const name of Object.keys(refs)) this.#hashes.set(name, await this.#hash(name));
    this.#rewatch();
  }

  close(): void {
    this.#closed = true;
    for (const w of this.#watchers) w.close();
    for (const t of this.#timers) clearInterval(t);
    clearTimeout(this.#settle);
    this.#watchers = [];
    this.#timers = [];
  }

  async #hash(name: string): Promise<string> {
    const v = await this.read(name);
    return v === undefined ? '-' : createHash('sha256').update(v).digest('hex');
  }

  #rewatch(): void {
    for (const w of this.#watchers) w.close();
    for (const t of this.#timers) clearInterval(t);
    this.#watchers = [];
    this.#timers = [];
    if (this.#closed) return;
    const dirs = new Set(
      Object.values(this.#refs)
        .filter((r) => r.file !== undefined)
        .map((r) => dirname(resolve(r.file as string))),
    );
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.#changed());
        w.on('error', () => {});
        this.#watchers.push(w);
      } catch {
        const t = setInterval(() => this.#changed(), POLL_MS);
        t.unref();
        this.#timers.push(t);
      }
    }
  }

  /**
   * Reads the secrets again SETTLE_MS after the first event of a burst. A pending read is not
   * pushed back by later events: another file in the directory (a log written at each request)
   * would otherwise keep restarting the timer, and the change would never be read.
   */
  #changed(): void {
    if (this.#settle) return;
    this.#settle = setTimeout(async () => {
      this.#settle = undefined;
      for (const [name, ref] of Object.entries(this.#refs)) {
        if (ref.file === undefined) continue;
        const h = await this.#hash(name);
        if (this.#hashes.get(name) !== h) {
          this.#hashes.set(name, h);
          this.#onChange(name);
        }
      }
    }, SETTLE_MS);
    this.#settle.unref();
  }
}
