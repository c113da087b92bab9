import type { Readable } from 'node:stream';
import type { LogOutput } from '../core/log.ts';
import { LineEnd, LineSplitter } from './line-splitter.ts';

/** Longest app line emitted as one log line; longer ones are split and flagged (docs/logs.md). */
export const MAX_LINE_BYTES = 64 * 1024;

const FLAGS: Record<LineEnd, string> = {
  [LineEnd.NEWLINE]: '}\n',
  [LineEnd.SPLIT]: ',"split":true}\n',
  [LineEnd.PARTIAL]: ',"partial":true}\n',
};

/**
 * Turns one output stream of the app into JSON lines on `out`. The stream is paused while
 * `out` is full, so the app is back-pressured instead of lines being dropped. Resolves when
 * the stream has ended and its last (possibly partial) line is written.
 */
export function captureAppStream(
  stream: Readable,
  name: 'stdout' | 'stderr',
  pid: number,
  out: LogOutput,
  maxLineBytes = MAX_LINE_BYTES,
): Promise<void> {
  const level = name === 'stdout' ? 'info' : 'error';
  const middle = `","level":"${level}","source":"app","stream":"${name}","pid":${pid},"msg":`;
  const splitter = new LineSplitter(maxLineBytes);
  let batch = '';
  const collect = (text: string, end: LineEnd): void => {
    batch += `{"time":"${new Date().toISOString()}${middle}${JSON.stringify(text)}${FLAGS[end]}`;
  };
  const send = (): void => {
    if (batch === '') return;
    const ok = out.write(batch);
    batch = '';
    if (!ok) {
      stream.pause();
      out.whenWritable().then(() => stream.resume());
    }
  };
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      splitter.push(chunk, collect);
      send();
    });
    const finish = (): void => {
      splitter.end(collect);
      send();
      resolve();
    };
    stream.once('end', finish);
    stream.once('error', finish);
  });
}
