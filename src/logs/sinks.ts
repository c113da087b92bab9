// The sinks of a LogsOptions, opened; a sink the running output already has with the same
// settings is taken over as it is, so a reload reopens only what changed.
import type { Writable } from 'node:stream';
import type { Logger } from '../core/log.ts';
import { FileSink } from './file-sink.ts';
import { HumanFormat } from './human-format.ts';
import type { LogsOptions } from './index.ts';
import type { ExportOutcome } from './otlp-sink.ts';
import type { SinkOutput, SinkSpec } from './output.ts';

/** What a sink was opened for: the settings that, when unchanged, let a reload keep it. */
const KEEP = new WeakMap<Writable, string>();

function keyOf(name: string, o: LogsOptions): string {
  if (name === 'stdout') return `stdout:${o.format}`;
  if (name === 'file') return `file:${JSON.stringify(o.file)}`;
  return `otlp:${o.otlp?.endpoint}`;
}

/**
 * Opens the sinks `o` asks for, taking over those in `current` that were opened with the same
 * settings. Throws LOG_FILE_UNWRITABLE (nothing left open) when the file cannot be opened.
 */
export async function openSinks(
  o: LogsOptions,
  out: SinkOutput,
  log: Logger,
  current: readonly SinkSpec[] = [],
): Promise<SinkSpec[]> {
  const keep = (name: string): SinkSpec | undefined => {
    const s = current.find((c) => c.name === name);
    return s && KEEP.get(s.dest) === keyOf(name, o)
      ? { ...s, bufferBytes: o.bufferBytes, whenFull: name === 'otlp' ? 'drop' : o.whenFull }
      : undefined;
  };
  const sinks: SinkSpec[] = [];
  if (o.stdout) sinks.push(keep('stdout') ?? stdoutSpec(o));
  if (o.file) {
    const spec = keep('file');
    if (spec) sinks.push(spec);
    else {
      const file = new FileSink(o.file);
      KEEP.set(file, keyOf('file', o));
      sinks.push({
        name: 'file',
        dest: file,
        bufferBytes: o.bufferBytes,
        whenFull: o.whenFull,
        close: () => file.close(),
      });
    }
  }
  if (o.otlp) {
    const spec = keep('otlp');
    if (spec) sinks.push(spec);
    else {
      // Loaded only when configured: most runs have no collector.
      const { OtlpSink } = await import('./otlp-sink.ts');
      const otlp = new OtlpSink({
        ...o.otlp,
        onDrop: (n) => {
          out.stats.dropped.otlp = (out.stats.dropped.otlp ?? 0) + n;
        },
        onExport: exportReporter(o.otlp.endpoint, log, () => out.stats.dropped.otlp ?? 0),
      });
      KEEP.set(otlp, keyOf('otlp', o));
      sinks.push({
        name: 'otlp',
        dest: otlp,
        bufferBytes: o.bufferBytes,
        // A remote collector going away must never stop the app: OTLP always drops when full.
        whenFull: 'drop',
        close: () => otlp.close(),
      });
    }
  }
  return sinks;
}

function stdoutSpec(o: LogsOptions): SinkSpec {
  const stdout = o.stdoutDest ?? process.stdout;
  let dest: Writable = stdout;
  let flush: (() => Promise<void>) | undefined;
  let close: (() => Promise<void>) | undefined;
  if (o.format === 'human') {
    const human = new HumanFormat(Boolean(process.stdout.isTTY) && stdout === process.stdout);
    human.pipe(stdout, { end: false });
    dest = human;
    flush = () =>
      new Promise((resolve) => human.write('', () => stdout.write('', () => resolve())));
    // Unpiped, never ended: stdout itself stays open.
    close = async () => {
      await flush?.();
      human.unpipe(stdout);
    };
  }
  KEEP.set(dest, keyOf('stdout', o));
  return {
    name: 'stdout',
    dest,
    bufferBytes: o.bufferBytes,
    whenFull: o.whenFull,
    flush,
    close,
    // Whole lines of one turn in one write; a human-format transform is left its own writes.
    batch: dest === stdout,
  };
}

/** At most one line this often about a failing OTLP collector (the first is said at once). */
const OTLP_REPORT_EVERY_MS = 30_000;

/**
 * Reports a failing collector: a warn line at the first failure, then at most one every
 * OTLP_REPORT_EVERY_MS with the running counts, and an info line once it accepts again.
 * `endpoint` is logged without user, password or query, which may carry credentials.
 */
function exportReporter(
  endpoint: string,
  log: Logger,
  dropped: () => number,
): (e: ExportOutcome) => void {
  const u = new URL(endpoint);
  const where = `${u.protocol}//${u.host}${u.pathname}`;
  let lastAt = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (e) => {
    if (e.ok) {
      log.info('OTLP export working again', { endpoint: where, export_failures: e.failures });
      lastAt = Number.NEGATIVE_INFINITY;
      suppressed = 0;
      return;
    }
    const now = performance.now();
    if (now - lastAt < OTLP_REPORT_EVERY_MS) {
      suppressed += 1;
      return;
    }
    lastAt = now;
    log.warn('OTLP export failing; retrying, lines are dropped once retries are spent', {
      endpoint: where,
      reason: e.reason,
      export_failures: e.failures,
      lines_dropped: dropped(),
      suppressed,
    });
    suppressed = 0;
  };
}
