// After a flood, memory the attack made the process take stays taken, in two places:
// - V8 grows its young generation to its cap under a burst of short-lived stream objects, and
//   old space with what the flood kept alive, and shrinks them only in a GC that asks for less
//   memory, which an idle process does not run (nothing allocates).
// - The C heap (glibc malloc's main arena, the brk `[heap]`, where nghttp2, OpenSSL and Node's
//   own C++ objects live) grows by tens of MiB, and once the flood is over most of it is free
//   but in holes below chunks still in use, which free() never hands back (it trims only the
//   top of the heap). Only malloc_trim() returns such holes (madvise DONTNEED of their pages).
// So once connection-level abuse has been quiet for a while, one GC that reduces the footprint
// is run (V8's `gc({ flavor: 'last-resort' })`, the same as its memory-pressure path), then
// malloc_trim; at most once per `minGapMs`. Measured by bench/h2-floods.ts: docs/edge.md
// (HTTP/2 floods, "Memory after a flood").
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: {
  type: 'major';
  execution: 'sync' | 'async';
  flavor: 'regular' | 'last-resort';
}) => void;

/** V8's gc function, exposed on demand (the flag only adds the function to new contexts). */
function contextGc(): Gc {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as Gc;
}

/** The relief's gc, kept once exposed. */
let gc: Gc | undefined;

/**
 * One GC that leaves V8 holding little beyond its live objects: old space compacted and the
 * young generation shrunk back to its initial size (V8's memory-pressure path).
 */
export function reduceHeap(): void {
  gc ??= contextGc();
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

/**
 * A major GC that marks incrementally beside whatever runs next, so nothing waits on it. Its
 * end is what starts V8's memory reducer, which an idle process otherwise never runs: a few
 * seconds after allocation has gone quiet, the reducer shrinks the heap, young generation
 * included, to about what is live.
 */
export function wakeMemoryReducer(): void {
  // Not kept, unlike the relief's: the context it comes from (0.3 MiB) is garbage after this.
  (gc ?? contextGc())({ type: 'major', execution: 'async', flavor: 'regular' });
}

/** From the end of start-up to the major GC that wakes V8's memory reducer. */
const SETTLE_MS = 2000;

/**
 * Wakes the memory reducer once start-up has settled (the app's own start, the first
 * requests). Start-up leaves the heap about twice what is live, and without a major GC the
 * reducer never runs to shrink it.
 */
export function wakeMemoryReducerAfterStart(): void {
  setTimeout(wakeMemoryReducer, SETTLE_MS).unref();
}

/** Set once malloc_trim turned out not to be reachable here (not glibc, or no node:sqlite). */
let noTrim = false;

/**
 * glibc's malloc_trim(), which JavaScript cannot call directly: SQLite's extension loader
 * (node:sqlite) dlopen()s a library and calls a named function in it as the extension's entry
 * point. Here that is libc's malloc_trim: libc.so.6 is already loaded, so dlopen only hands
 * back its handle and no new code comes in. Called as an entry point, malloc_trim gets the
 * database handle's address as its `pad` (the other two arguments are ignored): a pad larger
 * than any heap, which only keeps it from shrinking the top of the heap (free() does that
 * itself past glibc's trim threshold); the holes below chunks in use, which is what it is
 * called for, are given back whatever the pad. It returns 1 when it gave memory back, which
 * SQLite reports as a failed initialisation: that error is the expected answer. Anything else
 * (musl, another OS, the permission model, a Node without node:sqlite) means there is no
 * malloc_trim to call, and it is not tried again. Returns whether malloc_trim ran.
 */
export function trimCHeap(): boolean {
  if (noTrim) return false;
  try {
    const { DatabaseSync } = process.getBuiltinModule(
      'node:sqlite',
    ) as typeof import('node:sqlite');
    const db = new DatabaseSync(':memory:', { allowExtension: true });
    try {
      db.loadExtension('libc.so.6', 'malloc_trim');
      return true; // It returned 0: ran, nothing to give back.
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('error during initialization'))
        return true;
      throw err;
    } finally {
      db.close();
    }
  } catch {
    noTrim = true;
    return false;
  }
}

export interface ReliefOptions {
  /** Quiet time after the last abusive event before the GC runs. */
  quietMs: number;
  /** Least time between two such GCs. */
  minGapMs: number;
  /**
   * Told what was given back: RSS in bytes before the GC and after malloc_trim, and whether
   * malloc_trim could be called.
   */
  done?(before: number, after: number, cHeapTrimmed: boolean): void;
}

/**
 * Between the GC and malloc_trim: C++ objects that die with JavaScript ones (streams,
 * sessions, sockets) are freed by weak callbacks V8 runs in a task after the GC, not in it.
 */
const TRIM_AFTER_GC_MS = 500;

export class MemoryRelief {
  readonly #opts: ReliefOptions;
  #timer: NodeJS.Timeout | undefined;
  #trimTimer: NodeJS.Timeout | undefined;
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
    reduceHeap();
    this.#trimTimer = setTimeout(() => {
      this.#trimTimer = undefined;
      const trimmed = trimCHeap();
      this.#opts.done?.(before, process.memoryUsage.rss(), trimmed);
    }, TRIM_AFTER_GC_MS);
    this.#trimTimer.unref();
  }

  stop(): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#trimTimer);
    this.#timer = undefined;
    this.#trimTimer = undefined;
  }
}
