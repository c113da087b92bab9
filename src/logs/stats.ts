/** One counter value, in the shape a Prometheus exposition needs. */
export interface MetricSample {
  name: string;
  help: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The log concern's counters. Plain fields incremented on the hot path; `samples()` turns them
 * into metric samples for /metrics, and is cheap enough to call per scrape.
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

  /** Connection-level events (see connection-log.ts), by event name. */
  readonly connectionEvents: Record<string, number> = {};

  /** Total lines dropped over all sinks. */
  get droppedTotal(): number {
    let n = 0;
    for (const k in this.dropped) n += this.dropped[k];
    return n;
  }

  samples(): MetricSample[] {
    const out: MetricSample[] = [];
    for (const stream of ['stdout', 'stderr'] as const) {
      out.push({
        name: 'pillion_log_lines_total',
        help: 'Lines of app output captured.',
        labels: { stream },
        value: this.lines[stream],
      });
    }
    for (const [name, help, value] of [
      [
        'pillion_log_lines_split_total',
        'App lines over the limit, emitted in pieces.',
        this.linesSplit,
      ],
      [
        'pillion_log_lines_truncated_total',
        'App lines over the limit, cut short.',
        this.linesTruncated,
      ],
      ['pillion_log_lines_partial_total', 'App lines without a final newline.', this.linesPartial],
    ] as const) {
      out.push({ name, help, labels: {}, value });
    }
    for (const [event, value] of Object.entries(this.connectionEvents)) {
      out.push({
        name: 'pillion_connection_events_total',
        help: 'Connection-level events: TLS failures, parser rejections, protocol abuse.',
        labels: { event },
        value,
      });
    }
    for (const sink of Object.keys(this.dropped)) {
      const app = this.droppedApp[sink] ?? 0;
      for (const [source, value] of [
        ['app', app],
        ['pillion', this.dropped[sink] - app],
      ] as const) {
        out.push({
          name: 'pillion_log_lines_dropped_total',
          help: 'Log lines a sink dropped because its buffer was full.',
          labels: { sink, source },
          value,
        });
      }
    }
    return out;
  }
}
