// Logs owns where every log line goes: the app's stdout/stderr capture, the access log, the
// sinks (stdout, file, OTLP) with their bounded buffers, formats and redaction. What to log is
// left to the other concerns.
import type { Readable, Writable } from 'node:stream';
import type { Concern, Prepared } from '../core/concern.ts';
import type { Level, Logger } from '../core/log.ts';
import {
  ACCESS_LOG_DEFAULTS,
  type AccessLog,
  type AccessLogOptions,
  createAccessLog,
} from './access-log.ts';
import { APP_LOG_DEFAULTS, type AppLogOptions, captureAppStream } from './app-log.ts';
import { FILE_SINK_DEFAULTS, type FileSinkOptions } from './file-sink.ts';
import type { OtlpOptions } from './otlp-sink.ts';
import { DEFAULT_BUFFER_BYTES, SinkOutput, stdoutSink, type WhenFull } from './output.ts';
import { RecentLines } from './recent.ts';
import { prepareSinks } from './reload.ts';
import { openSinks } from './sinks.ts';
import type { LogStats } from './stats.ts';

export type LogFormat = 'json' | 'human';

export interface LogsOptions {
  /** Pillion's stdout: JSON lines, or a human format (coloured when stdout is a TTY). */
  format: LogFormat;
  /** The least level of Pillion's own events written. */
  level: Level;
  /** Write to Pillion's stdout (the default sink). */
  stdout: boolean;
  /** Where the stdout sink writes; Pillion's stdout unless embedded (a test's collector). */
  stdoutDest?: Writable;
  file?: FileSinkOptions;
  otlp?: OtlpOptions;
  /** Bound on each sink's queue, in bytes. */
  bufferBytes: number;
  whenFull: WhenFull;
  app: AppLogOptions;
  access: AccessLogOptions;
}

export const LOGS_DEFAULTS: LogsOptions = {
  format: 'json',
  level: 'info',
  stdout: true,
  bufferBytes: DEFAULT_BUFFER_BYTES,
  whenFull: 'block',
  app: APP_LOG_DEFAULTS,
  access: ACCESS_LOG_DEFAULTS,
};

/** Fills in defaults, including those of the file sink when a file is given. */
export function logsOptions(partial: Partial<LogsOptions> = {}): LogsOptions {
  return {
    ...LOGS_DEFAULTS,
    ...partial,
    file: partial.file ? { ...FILE_SINK_DEFAULTS, ...partial.file } : undefined,
    app: { ...APP_LOG_DEFAULTS, ...partial.app },
    access: { ...ACCESS_LOG_DEFAULTS, ...partial.access },
  };
}

/** Pillion's log output before any options are known: JSON lines on stdout, blocking. */
export function createLogOutput(): SinkOutput {
  return new SinkOutput([stdoutSink()]);
}

export class Logs implements Concern {
  readonly name = 'logs';
  readonly #out: SinkOutput;
  #opts: LogsOptions;
  readonly #log: Logger;
  #stopped: Promise<void> | undefined;
  #recent: RecentLines | undefined;

  /** `out` is the output Pillion's logger writes to (createLogOutput): its sinks are set here. */
  constructor(out: SinkOutput, opts: LogsOptions, log: Logger) {
    this.#out = out;
    this.#opts = opts;
    this.#log = log;
  }

  /** Opens the sinks; a log file that cannot be opened throws LOG_FILE_UNWRITABLE. */
  async start(): Promise<void> {
    const out = this.#out;
    const o = this.#opts;
    const sinks = await openSinks(o, out, this.#log);
    out.minLevel = o.level;
    out.setSinks(sinks);
    this.#log.info('logs ready', {
      sinks: sinks.map((s) => s.name),
      format: o.format,
      when_full: o.whenFull,
      buffer_bytes: o.bufferBytes,
      ...(o.file ? { file: o.file.path } : {}),
    });
  }

  /** Phase one of a reload of the sinks (logs/reload.ts): a file that cannot be opened throws. */
  async prepare(next: LogsOptions): Promise<Prepared> {
    const out = this.#out;
    return prepareSinks(out, next, this.#log, (o) => {
      this.#opts = o;
      out.minLevel = o.level;
    });
  }

  /** Reports the counters, then flushes and closes the sinks (files, OTLP). */
  stop(deadline: AbortSignal): Promise<void> {
    this.#stopped ??= this.#stop(deadline);
    return this.#stopped;
  }

  async #stop(deadline: AbortSignal): Promise<void> {
    const out = this.#out;
    const aborted = new Promise<void>((resolve) => {
      if (deadline.aborted) resolve();
      deadline.addEventListener('abort', () => resolve(), { once: true });
    });
    // Room first, so that under `drop` this summary is not itself dropped.
    await Promise.race([out.flush(), aborted]);
    this.#log.info('logs closing', {
      pillion_log_lines_dropped_total: { ...out.stats.dropped },
      app_lines_dropped: { ...out.stats.droppedApp },
      lines: { ...out.stats.lines },
      lines_split: out.stats.linesSplit,
      lines_truncated: out.stats.linesTruncated,
      lines_partial: out.stats.linesPartial,
      peak_queued_bytes: out.peakQueuedBytes,
      // Pillion's CPU time so far: the log benchmark divides it by the lines carried.
      cpu_ms: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
    });
    await Promise.race([out.closeSinks(), aborted]);
  }

  /** The log counters (lines per stream, drops per sink), for the metrics concern. */
  get stats(): LogStats {
    return this.#out.stats;
  }

  /** Bytes queued for each sink now. */
  queuedBytes(): Record<string, number> {
    return this.#out.queuedBytes();
  }

  /**
   * Keeps the most recent lines in memory from now on (the admin API's log view and live
   * tail); without a call, nothing is kept.
   */
  keepRecent(): RecentLines {
    if (!this.#recent) {
      const recent = new RecentLines();
      this.#recent = recent;
      this.#out.tap = (lines) => recent.add(lines);
    }
    return this.#recent;
  }

  /** The access log writer for ingress, in the configured format. */
  accessLog(): AccessLog {
    return createAccessLog(this.#out, this.#opts.access);
  }

  /**
   * Captures one of the app's output streams with the configured app-log settings, counted in
   * the output's stats (the supervisor gets this through the Sidecar).
   */
  capture(stream: Readable, name: 'stdout' | 'stderr', pid: number): Promise<void> {
    return captureAppStream(stream, name, pid, this.#out, this.#opts.app, this.#out.stats);
  }
}
