import type { Readable } from 'node:stream';
import { ErrorCode } from '../core/errors.ts';
import { BodyPace } from './body-pace.ts';

/**
 * A body without a declared length is read this far before the app is asked. Most such bodies
 * end sooner: they go upstream with an exact Content-Length, and a chunk that fails to parse
 * becomes a 400 with nothing sent to the app. Longer bodies stream on as chunked.
 */
export const BUFFER_BYTES = 64 * 1024;

export type Buffered =
  | { ok: true; chunks: Buffer[]; size: number; complete: boolean }
  | { ok: false; code: ErrorCode | undefined };

/** Reads the start of `body`: the whole of it if it ends within `bufferBytes`. */
export function bufferBody(
  body: Readable,
  bufferBytes: number,
  pace: { windowMs: number; minBytes: number },
  maxBytes: number,
): Promise<Buffered> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (r: Buffered): void => {
      watch.stop();
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onClose);
      body.off('error', onClose);
      if (r.ok && !r.complete) body.pause();
      resolve(r);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) done({ ok: false, code: ErrorCode.BODY_TOO_LARGE });
      else if (size > bufferBytes) done({ ok: true, chunks, size, complete: false });
      else watch.add(chunk.length);
    };
    const onEnd = (): void => done({ ok: true, chunks, size, complete: true });
    // Closed before its end: a parse error (answered by the connection's error handler) or a
    // client that went away. Nothing was sent to the app.
    const onClose = (): void => done({ ok: false, code: undefined });
    const watch = new BodyPace(pace.windowMs, pace.minBytes, () =>
      done({ ok: false, code: ErrorCode.REQUEST_TIMEOUT }),
    );
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('close', onClose);
    body.once('error', onClose);
  });
}
