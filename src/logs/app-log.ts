import type { Readable } from 'node:stream';
import type { Level, LogOutput } from '../core/log.ts';
import { levelFromPrefix, levelFromValue } from './level.ts';
import { LineEnd, LineSplitter, type OverLong } from './line-splitter.ts';
import { LogStats } from './stats.ts';

/** Longest app line emitted as one log line; longer ones are split and flagged (docs/logs.md). */
export const MAX_LINE_BYTES = 64 * 1024;

export interface AppLogOptions {
  /** Longest line emitted whole; longer ones are split or truncated. */
  maxLineBytes: number;
  /** `split` emits every piece (flagged `split`); `truncate` keeps the first (`truncated`). */
  overLong: OverLong;
  /** Keep the fields of a line that is a JSON object as structure, its level mapped. */
  json: boolean;
  /** Take the level from a prefix such as `ERROR:` or `[warn]`. */
  levelPrefix: boolean;
  /**
   * Join continuation lines (starting with a space or tab, as in stack traces) to the line
   * before, waiting at most this long for more; 0 turns joining off.
   */
  multilineMs: number;
  /**
   * The level of a stderr line that does not say its own (no level prefix, no JSON level
   * field). `info`: many runtimes write ordinary lines to stderr (Python's `logging` and
   * `http.server`, Go's `log`), so stderr alone does not mean an error.
   */
  stderrLevel: Level;
}

export const APP_LOG_DEFAULTS: AppLogOptions = {
  maxLineBytes: MAX_LINE_BYTES,
  overLong: 'split',
  json: true,
  levelPrefix: true,
  multilineMs: 0,
  stderrLevel: 'info',
};

const FLAGS: Record<LineEnd, string> = {
  [LineEnd.NEWLINE]: '}\n',
  [LineEnd.SPLIT]: ',"split":true}\n',
  [LineEnd.PARTIAL]: ',"partial":true}\n',
  [LineEnd.TRUNCATED]: ',"truncated":true}\n',
};

/** Envelope keys and flags an app's JSON line may not set; its own values move to `app_<key>`. */
const RESERVED = new Set([
  'time',
  'level',
  'source',
  'stream',
  'pid',
  'msg',
  'split',
  'partial',
  'truncated',
]);
const MSG_KEYS = ['msg', 'message'];
const LEVEL_KEYS = ['level', 'severity', 'levelname', 'lvl'];

/**
 * Turns one output stream of the app into JSON lines on `out`, counted in `stats`. The stream
 * is paused while `out` is full, so the app is back-pressured instead of lines being dropped.
 * Resolves when the stream has ended and its last (possibly partial) line is written.
 */
export function captureAppStream(
  stream: Readable,
  name: 'stdout' | 'stderr',
  pid: number,
  out: LogOutput,
  options: Partial<AppLogOptions> = {},
  stats: LogStats = new LogStats(),
): Promise<void> {
  const o: AppLogOptions = { ...APP_LOG_DEFAULTS, ...options };
  // A line that says its level keeps it (levelFromPrefix, jsonLine); this is for the rest.
  const streamLevel: Level = name === 'stdout' ? 'info' : o.stderrLevel;
  const tail = `","source":"app","stream":"${name}","pid":${pid},"msg":`;
  const splitter = new LineSplitter(o.maxLineBytes, o.overLong);
  // The back-pressured writer: the app's lines are never dropped under `block`.
  const write = out.writeWaiting.bind(out);
  // One timestamp per chunk read: every line in it arrived at the same moment.
  let now = '';
  let batch = '';
  let inSplit = false;

  const render = (text: string, end: LineEnd): void => {
    if (end === LineEnd.SPLIT) {
      if (!inSplit) stats.linesSplit += 1;
      inSplit = true;
    } else {
      inSplit = false;
      if (end === LineEnd.TRUNCATED) stats.linesTruncated += 1;
      else if (end === LineEnd.PARTIAL) stats.linesPartial += 1;
    }
    stats.lines[name] += 1;
    if (
      o.json &&
      (end === LineEnd.NEWLINE || end === LineEnd.PARTIAL) &&
      text.charCodeAt(0) === 0x7b &&
      text.charCodeAt(text.length - 1) === 0x7d
    ) {
      const line = jsonLine(text, now, streamLevel, tail);
      if (line !== undefined) {
        batch += line + FLAGS[end];
        return;
      }
    }
    const level = (o.levelPrefix && levelFromPrefix(text)) || streamLevel;
    batch += `{"time":"${now}","level":"${level}${tail}${JSON.stringify(text)}${FLAGS[end]}`;
  };

  const send = (): void => {
    if (batch === '') return;
    const ok = write(batch);
    batch = '';
    if (!ok) {
      stream.pause();
      out.whenWritable().then(() => stream.resume());
    }
  };

  let collect = render;
  let flushHeld = (): void => {};
  let armHeld = (): void => {};
  if (o.multilineMs > 0) {
    // Holds the last whole line until the next one shows it is not continued, or time runs out.
    let held: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    flushHeld = (): void => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (held === undefined) return;
      const text = held;
      held = undefined;
      render(text, LineEnd.NEWLINE);
    };
    armHeld = (): void => {
      if (held === undefined || timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        now = new Date().toISOString();
        flushHeld();
        send();
      }, o.multilineMs);
    };
    collect = (text, end) => {
      const c = text.charCodeAt(0);
      if (
        held !== undefined &&
        (c === 0x20 || c === 0x09) &&
        end === LineEnd.NEWLINE &&
        held.length + text.length < o.maxLineBytes
      ) {
        held += `\n${text}`;
        return;
      }
      flushHeld();
      if (end === LineEnd.NEWLINE) held = text;
      else render(text, end);
    };
  }

  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      now = new Date().toISOString();
      splitter.push(chunk, collect);
      armHeld();
      send();
    });
    const finish = (): void => {
      now = new Date().toISOString();
      splitter.end(collect);
      flushHeld();
      send();
      resolve();
    };
    stream.once('end', finish);
    stream.once('error', finish);
  });
}

/** An app line that is a JSON object, as a log line without its closing flags; else undefined. */
function jsonLine(text: string, now: string, streamLevel: Level, tail: string): string | undefined {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return undefined;
  const fields = obj as Record<string, unknown>;
  const msgKey = MSG_KEYS.find((k) => typeof fields[k] === 'string');
  let level: Level | undefined;
  let levelKey: string | undefined;
  for (const k of LEVEL_KEYS) {
    if (k in fields) {
      level = levelFromValue(fields[k]);
      if (level) {
        levelKey = k;
        break;
      }
    }
  }
  let line = `{"time":"${now}","level":"${level ?? streamLevel}${tail}${JSON.stringify(msgKey ? fields[msgKey] : '')}`;
  for (const k in fields) {
    if (k === msgKey || k === levelKey) continue;
    const key = RESERVED.has(k) ? `app_${k}` : k;
    line += `,${JSON.stringify(key)}:${JSON.stringify(fields[k])}`;
  }
  return line;
}
