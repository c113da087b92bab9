// After a flood, memory the attack made V8 commit stays committed: V8 grows its young
// generation to its cap under a burst of short-lived stream objects and shrinks it only in a
// GC that asks for less memory, which an idle process does not run (nothing allocates). So once
// connection-level abuse has been quiet for a while, one GC that reduces the footprint is run
// (V8's `gc({ flavor: 'last-resort' })`, the same as its memory-pressure path), at most once
// a minute. Measured by bench/h2-floods.ts: docs/edge.md (HTTP/2 floods).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

let gc: Gc | undefined;

/** V8's gc function, exposed on demand (the flag only adds the function to new contexts). */
function v8Gc(): Gc {
  if (gc) return gc;
  setFlagsFromString('--expose-gc');
  gc = runInNewContext('gc') as Gc;
  return gc;
}

export interface ReliefOptions {
  /** Quiet time after the last abusive event before the GC runs. */
  quietMs: number;
  /** Least time between two such GCs. */
  minGapMs: number;
  /** Told what the GC gave back (RSS in bytes before and after). */
  done?(before: number, after: number): void;
}

export class MemoryRelief {
  readonly #opts: ReliefOptions;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;

  constructor(opts: ReliefOptions) {
    this.#opts = opts;
  }

  /** An abusive event: the GC is (re)scheduled for when they have been quiet for `quietMs`. */
  note(): void {
    clearTimeout(this.#timer);
    const wait = Math.max(this.#opts.quietMs, this.#last + this.#opts.minGapMs - Date.now());
    this.#timer = setTimeout(() => this.#run(), wait);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    this.#last = Date.now();
    const before = process.memoryUsage.rss();
    v8Gc()({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    this.#opts.done?.(before, process.memoryUsage.rss());
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
