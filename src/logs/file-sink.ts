import { closeSync, fstatSync, openSync, renameSync, rmSync, write } from 'node:fs';
import { Writable } from 'node:stream';
import { ErrorCode, PillionError } from '../core/errors.ts';

export interface FileSinkOptions {
  path: string;
  /** Rotate before the file would grow past this many bytes; 0 never rotates. */
  maxBytes: number;
  /** Rotated files kept: path.1 (newest) to path.N; older ones are deleted. */
  keep: number;
}

export const FILE_SINK_DEFAULTS = { maxBytes: 100 * 1024 * 1024, keep: 5 };

const LF = 0x0a;

/**
 * Appends log lines to a file, rotating by size: when the next lines would take the file past
 * `maxBytes`, it is renamed to `path.1` (older ones shift up, the oldest past `keep` is
 * deleted) and a new file is started. Files are cut between lines only; a single line longer
 * than `maxBytes` gets a file of its own. Writes are batched (`_writev`), one write(2) each.
 */
export class FileSink extends Writable {
  readonly #opts: FileSinkOptions;
  #fd: number;
  #size: number;

  /** Opens (or creates) the file for appending; throws LOG_FILE_UNWRITABLE. */
  constructor(opts: FileSinkOptions) {
    super({ highWaterMark: 256 * 1024, decodeStrings: true });
    this.#opts = opts;
    this.#fd = openLog(opts.path);
    this.#size = fstatSync(this.#fd).size;
  }

  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    cb: (err?: Error | null) => void,
  ): void {
    const buf = chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk));
    this.#writeBuf(buf, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#writeBuf(chunk, cb);
  }

  #writeBuf(buf: Buffer, cb: (err?: Error | null) => void): void {
    if (buf.length === 0) {
      cb();
      return;
    }
    const max = this.#opts.maxBytes;
    let piece = buf;
    if (max > 0 && this.#size + buf.length > max) {
      const room = max - this.#size;
      // The longest run of whole lines that fits.
      const cut = room > 0 ? buf.lastIndexOf(LF, room - 1) + 1 : 0;
      if (cut > 0) piece = buf.subarray(0, cut);
      else if (this.#size > 0) {
        try {
          this.#rotate();
        } catch (err) {
          cb(err as Error);
          return;
        }
        this.#writeBuf(buf, cb);
        return;
      } else {
        // An empty file and a first line longer than the limit: that line alone.
        const nl = buf.indexOf(LF);
        piece = nl === -1 ? buf : buf.subarray(0, nl + 1);
      }
    }
    this.#writeAll(piece, 0, (err) => {
      if (err) cb(err);
      else if (piece.length < buf.length) this.#writeBuf(buf.subarray(piece.length), cb);
      else cb();
    });
  }

  #writeAll(buf: Buffer, off: number, cb: (err?: Error | null) => void): void {
    write(this.#fd, buf, off, buf.length - off, null, (err, n) => {
      if (err) return cb(err);
      this.#size += n;
      if (off + n < buf.length) this.#writeAll(buf, off + n, cb);
      else cb();
    });
  }

  /** Shifts path.N-1 → path.N … path → path.1, deleting what falls past `keep`. */
  #rotate(): void {
    const { path, keep } = this.#opts;
    closeSync(this.#fd);
    if (keep === 0) rmSync(path, { force: true });
    else {
      rmSync(`${path}.${keep}`, { force: true });
      for (let k = keep - 1; k >= 1; k--) renameIfExists(`${path}.${k}`, `${path}.${k + 1}`);
      renameSync(path, `${path}.1`);
    }
    this.#fd = openLog(path);
    this.#size = 0;
  }

  override _final(cb: (err?: Error | null) => void): void {
    try {
      closeSync(this.#fd);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  /** Ends the file after everything queued is written. */
  close(): Promise<void> {
    if (this.writableFinished || this.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      this.once('close', resolve);
      this.once('error', () => resolve());
      this.end();
    });
  }
}

function openLog(path: string): number {
  try {
    return openSync(path, 'a', 0o644);
  } catch (err) {
    throw new PillionError(
      ErrorCode.LOG_FILE_UNWRITABLE,
      `cannot open the log file ${path} (${(err as NodeJS.ErrnoException).code}); fix logs.file.path (--log-file) or the directory's permissions`,
      { cause: err },
    );
  }
}

function renameIfExists(from: string, to: string): void {
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
