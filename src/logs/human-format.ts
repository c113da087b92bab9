import { Transform, type TransformCallback } from 'node:stream';

const COLOURS: Record<string, string> = {
  debug: '\x1b[90m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
const SKIP = new Set(['time', 'level', 'source', 'msg']);

/**
 * Renders one JSON log line for people: `HH:MM:SS.mmm LEVEL source msg key=value …`, with the
 * level in colour when `colour` is set. A line that is not a JSON object passes through as is.
 */
export function humanLine(json: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json);
  } catch {
    return json;
  }
  if (typeof rec !== 'object' || rec === null) return json;
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : '';
  const level = String(rec.level ?? '');
  let source = String(rec.source ?? '');
  if (source === 'app' && rec.stream) source = `app[${rec.stream}]`;
  let extra = '';
  for (const k in rec) {
    // The app's stream is in the source column; Pillion's own pid is noise to a person.
    if (SKIP.has(k) || (k === 'stream' && rec.source === 'app')) continue;
    if (k === 'pid' && rec.source !== 'app') continue;
    const v = rec[k];
    const text = typeof v === 'string' && !/[\s"=]/.test(v) && v !== '' ? v : JSON.stringify(v);
    extra += ` ${k}=${text}`;
  }
  const lv = level.toUpperCase().padEnd(5);
  const msg = String(rec.msg ?? '');
  if (!colour) return `${time} ${lv} ${source} ${msg}${extra}`;
  return `${DIM}${time}${RESET} ${COLOURS[level] ?? ''}${lv}${RESET} ${source} ${msg}${DIM}${extra}${RESET}`;
}

/** A stream of JSON lines in, human lines out. */
export class HumanFormat extends Transform {
  readonly #colour: boolean;

  constructor(colour: boolean) {
    super({ decodeStrings: false, highWaterMark: 256 * 1024 });
    this.#colour = colour;
  }

  override _transform(chunk: Buffer | string, _enc: BufferEncoding, cb: TransformCallback): void {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text === '') {
      cb();
      return;
    }
    let out = '';
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      out += `${humanLine(text.slice(start, nl), this.#colour)}\n`;
      start = nl + 1;
    }
    if (start < text.length) out += humanLine(text.slice(start), this.#colour);
    cb(null, out);
  }
}
