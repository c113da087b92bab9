// The sinks of a LogsOptions, opened; a sink the running output already has with the same
// settings is taken over as it is, so a reload reopens only what changed.
import type { Writable } from 'node:stream';
import { FileSink } from './file-sink.ts';
import { HumanFormat } from './human-format.ts';
import type { LogsOptions } from './index.ts';
import { OtlpSink } from './otlp-sink.ts';
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
export function openSinks(
  o: LogsOptions,
  out: SinkOutput,
  current: readonly SinkSpec[] = [],
): SinkSpec[] {
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
      const otlp = new OtlpSink({
        ...o.otlp,
        onDrop: (n) => {
          out.stats.dropped.otlp = (out.stats.dropped.otlp ?? 0) + n;
        },
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
  let dest: Writable = process.stdout;
  let flush: (() => Promise<void>) | undefined;
  let close: (() => Promise<void>) | undefined;
  if (o.format === 'human') {
    const human = new HumanFormat(Boolean(process.stdout.isTTY));
    human.pipe(process.stdout, { end: false });
    dest = human;
    flush = () =>
      new Promise((resolve) => human.write('', () => process.stdout.write('', () => resolve())));
    // Unpiped, never ended: stdout itself stays open.
    close = async () => {
      await flush?.();
      human.unpipe(process.stdout);
    };
  }
  KEEP.set(dest, keyOf('stdout', o));
  return { name: 'stdout', dest, bufferBytes: o.bufferBytes, whenFull: o.whenFull, flush, close };
}
