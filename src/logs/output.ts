import type { Writable } from 'node:stream';
import { LogOutput } from '../core/log.ts';
import { LogStats } from './stats.ts';

/** What a sink does when its buffer is full. */
export type WhenFull = 'block' | 'drop';

export interface SinkSpec {
  /** Label in metrics and reports: `stdout`, `file`, `otlp`. */
  name: string;
  dest: Writable;
  /** Most bytes queued for this sink before the policy applies. */
  bufferBytes: number;
  whenFull: WhenFull;
  /** Ends the sink (files closed, last batch sent); stdout has none. */
  close?: () => Promise<void>;
  /** Waits until what was written is handed on; default: the dest's write callback. */
  flush?: () => Promise<void>;
  /**
   * Lines written in one event-loop turn go to `dest` in one write (stdout, whose writes are
   * synchronous syscalls: one per access line was ~5% of Pillion's CPU for 12-byte responses).
   */
  batch?: boolean;
}

/** Default bound on each sink's queue. */
export const DEFAULT_BUFFER_BYTES = 16 * 1024 * 1024;

interface Sink extends SinkSpec {
  /** Drops not yet reported in the sink itself. */
  unreported: number;
  /** A batching sink's lines of this turn, not yet written to `dest`. */
  pending: string;
}

/** A batch goes out at once past this size, without waiting for the end of the turn. */
const BATCH_BYTES = 16 * 1024;

/** Outputs holding a batch: written out if the process exits before their turn ends. */
const holding = new Set<SinkOutput>();
let exitHook = false;

/**
 * Writes every log line to one or more sinks, each with a bounded queue. Under `block`, the
 * app's pipes stop being read while a sink is over its bound (the app is back-pressured, no
 * line lost); Pillion's own lines, which cannot wait, are dropped and counted only past a
 * further headroom. Under `drop`, lines for a full sink are dropped and counted exactly in
 * `pillion_log_lines_dropped_total`, and the sink gets a line saying how many when it has room
 * again. Carries the log counters (`stats`).
 */
export class SinkOutput extends LogOutput {
  readonly stats = new LogStats();
  #sinks: Sink[] = [];
  /** Largest queue seen on any sink, in bytes: the memory the buffers took at worst. */
  peakQueuedBytes = 0;
  /** Sees every chunk written, before the sinks (the recent lines of the admin API); set once. */
  tap: ((lines: string) => void) | undefined = undefined;

  constructor(sinks: SinkSpec[]) {
    super(sinks[0].dest);
    this.setSinks(sinks);
  }

  get sinks(): readonly SinkSpec[] {
    return this.#sinks;
  }

  /** Bytes queued for each sink now, by sink name: what the buffers hold. */
  queuedBytes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.#sinks) out[s.name] = s.dest.writableLength + s.pending.length;
    return out;
  }

  /** Replaces the sinks; the old ones are not closed (see `closeSinks`). */
  setSinks(sinks: SinkSpec[]): void {
    this.writeBatches();
    for (const s of sinks) {
      // A closed reader (EPIPE) or a failed file must not crash the sidecar.
      if (s.dest.listenerCount('error') === 0) s.dest.on('error', () => {});
      this.stats.dropped[s.name] ??= 0;
      this.stats.droppedApp[s.name] ??= 0;
    }
    this.#sinks = sinks.map((s) => ({ ...s, unreported: 0, pending: '' }));
  }

  #scheduled = false;
  readonly #endOfTurn = (): void => {
    this.#scheduled = false;
    this.writeBatches();
  };

  /** Writes every sink's batch now (end of the turn, a flush, the process exiting). */
  writeBatches(): void {
    holding.delete(this);
    for (const s of this.#sinks) this.#writeBatch(s);
  }

  #writeBatch(s: Sink): void {
    if (s.pending === '') return;
    const lines = s.pending;
    s.pending = '';
    if (s.dest.destroyed || s.dest.writableEnded) {
      // Closed since these lines were taken: they are dropped, and counted as such.
      const n = countLines(lines);
      this.stats.dropped[s.name] += n;
      s.unreported += n;
      return;
    }
    s.dest.write(lines);
  }

  #hold(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#endOfTurn);
    holding.add(this);
    if (!exitHook) {
      exitHook = true;
      // stdout's writes are synchronous, so a batch written here is not lost at exit.
      process.on('exit', () => {
        for (const o of holding) o.writeBatches();
      });
    }
  }

  /** For writers that cannot wait (Pillion's events, the access log). */
  override write(lines: string): boolean {
    this.tap?.(lines);
    let ok = true;
    for (const s of this.#sinks) if (!this.#writeTo(s, lines, false)) ok = false;
    return ok;
  }

  /** For the app's output: false means pause reading until `whenWritable()`. */
  override writeWaiting(lines: string): boolean {
    this.tap?.(lines);
    let ok = true;
    for (const s of this.#sinks) if (!this.#writeTo(s, lines, true)) ok = false;
    return ok;
  }

  #writeTo(s: Sink, lines: string, canWait: boolean): boolean {
    const dest = s.dest;
    const queued = dest.writableLength + s.pending.length;
    const drop = s.whenFull === 'drop';
    // Under block, lines that cannot wait get a headroom of a quarter of the bound.
    const limit = drop || canWait ? s.bufferBytes : s.bufferBytes + (s.bufferBytes >> 2);
    if (dest.destroyed || dest.writableEnded || (queued >= limit && (drop || !canWait))) {
      const n = countLines(lines);
      this.stats.dropped[s.name] += n;
      if (canWait) this.stats.droppedApp[s.name] += n;
      s.unreported += n;
      return true;
    }
    let out = lines;
    if (s.unreported > 0) {
      const n = s.unreported;
      s.unreported = 0;
      out = `${JSON.stringify({
        time: new Date().toISOString(),
        level: 'warn',
        source: 'logs',
        pid: process.pid,
        msg: 'log lines dropped: this sink was full',
        sink: s.name,
        dropped: n,
        pillion_log_lines_dropped_total: this.stats.dropped[s.name],
      })}\n${lines}`;
    }
    if (s.batch) {
      s.pending += out;
      if (s.pending.length >= BATCH_BYTES) this.#writeBatch(s);
      else this.#hold();
    } else dest.write(out);
    const after = dest.writableLength + s.pending.length;
    if (after > this.peakQueuedBytes) this.peakQueuedBytes = after;
    return drop || after < s.bufferBytes;
  }

  /** Resolves when every blocking sink is under its bound. */
  override async whenWritable(): Promise<void> {
    this.writeBatches();
    for (const s of this.#sinks) {
      while (
        s.whenFull === 'block' &&
        s.dest.writableLength >= s.bufferBytes &&
        !s.dest.destroyed
      ) {
        // An empty write completes once everything queued before it is written. Unlike
        // 'drain', this works whatever the stream's own highWaterMark is next to the bound.
        await new Promise<void>((resolve) => s.dest.write('', () => resolve()));
      }
    }
  }

  /** Resolves once every sink has handed what was written so far to its destination. */
  override async flush(): Promise<void> {
    this.writeBatches();
    await Promise.all(
      this.#sinks.map((s) => {
        const d = s.dest;
        if (d.destroyed || d.writableEnded) return undefined;
        if (s.flush) return s.flush();
        if (d.writableLength === 0) return undefined;
        return new Promise<void>((resolve) => d.write('', () => resolve()));
      }),
    );
  }

  /** Flushes and closes the sinks that can be closed (files, OTLP); stdout stays open. */
  async closeSinks(): Promise<void> {
    await this.flush();
    await Promise.all(this.#sinks.map((s) => s.close?.()));
  }
}

/** Newlines in `lines`: every line written ends in one. Only called when dropping. */
function countLines(lines: string): number {
  let n = 0;
  for (let i = lines.indexOf('\n'); i !== -1; i = lines.indexOf('\n', i + 1)) n += 1;
  return n;
}

/** Pillion's stdout as a sink. */
export function stdoutSink(
  bufferBytes = DEFAULT_BUFFER_BYTES,
  whenFull: WhenFull = 'block',
  dest: Writable = process.stdout,
): SinkSpec {
  return { name: 'stdout', dest, bufferBytes, whenFull, batch: true };
}
