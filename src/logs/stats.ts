/**
 * The log concern's counters: plain fields incremented on the hot path, reported in the
 * `logs closing` line.
 */
export class LogStats {
  /** App lines captured, per stream (a split line counts once per piece). */
  readonly lines = { stdout: 0, stderr: 0 };
  /** App lines longer than the limit that were emitted in pieces. */
  linesSplit = 0;
  /** App lines longer than the limit that were cut short. */
  linesTruncated = 0;
  /** App lines without a newline at the end of the stream. */
  linesPartial = 0;
  /** Lines each sink dropped because its buffer was full (policy `drop`), by sink name. */
  readonly dropped: Record<string, number> = {};
  /** Of those, the app's own lines (the rest are Pillion's events and access lines). */
  readonly droppedApp: Record<string, number> = {};

  /** Total lines dropped over all sinks. */
  get droppedTotal(): number {
    let n = 0;
    for (const k in this.dropped) n += this.dropped[k];
    return n;
  }
}
