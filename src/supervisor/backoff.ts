/** How the delay before a restart grows (CrashLoopBackOff's shape: doubling to a cap). */
export interface BackoffOptions {
  /** Delay before the first restart of a run of failures. */
  baseMs: number;
  /** The delay never exceeds this. */
  capMs: number;
  /** An instance that ran at least this long resets the delay to `baseMs`. */
  resetAfterMs: number;
}

/** Defaults: 1 s doubling to a 5 min cap, reset after 10 min healthy. */
export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: 1000,
  capMs: 300_000,
  resetAfterMs: 600_000,
};

/** Exponential back-off between restarts: base, 2·base, 4·base, … up to cap. */
export class Backoff {
  readonly #opts: BackoffOptions;
  #step = 0;

  constructor(opts: BackoffOptions) {
    this.#opts = opts;
  }

  /** The delay before the next restart, given how long the instance that just exited ran. */
  next(ranMs: number): number {
    if (ranMs >= this.#opts.resetAfterMs) this.#step = 0;
    const { baseMs, capMs } = this.#opts;
    // Stop doubling once past the cap, so the step count cannot overflow to Infinity.
    const delay = Math.min(capMs, baseMs * 2 ** this.#step);
    if (delay < capMs) this.#step++;
    return delay;
  }

  /** Forgets past failures (an explicit restart is not a failure). */
  reset(): void {
    this.#step = 0;
  }
}
