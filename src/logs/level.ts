import type { Level } from '../core/log.ts';

/** Level words apps commonly print, folded onto Pillion's four levels. */
const WORDS: Record<string, Level> = {
  trace: 'debug',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  crit: 'error',
  critical: 'error',
  fatal: 'error',
  panic: 'error',
  severe: 'error',
  alert: 'error',
  emerg: 'error',
};

// A level word at the start of the line, optionally bracketed and optionally after an ISO-like
// timestamp: "ERROR: x", "[warn] x", "WARNING:root:x", "2026-11-26 10:00:00,123 INFO x".
const PREFIX =
  /^(?:\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?\s+)?[[<]?(trace|debug|dbg|info|notice|warn|warning|error|err|crit|critical|fatal|panic|severe|alert|emerg)(?=[\]>:|\s]|$)/i;

/** First characters that can start a prefix: letters of the level words, '[', '<' or a digit. */
function mayHavePrefix(c: number): boolean {
  // Lower-case the ASCII letter; the first letters of the words are a c d e f i n p s t w.
  const l = c | 0x20;
  return (
    c === 0x5b ||
    c === 0x3c ||
    (c >= 0x30 && c <= 0x39) ||
    l === 0x61 ||
    l === 0x63 ||
    l === 0x64 ||
    l === 0x65 ||
    l === 0x66 ||
    l === 0x69 ||
    l === 0x6e ||
    l === 0x70 ||
    l === 0x73 ||
    l === 0x74 ||
    l === 0x77
  );
}

/** The level a plain-text line announces at its start, if any. */
export function levelFromPrefix(text: string): Level | undefined {
  if (text.length < 3 || !mayHavePrefix(text.charCodeAt(0))) return undefined;
  const m = PREFIX.exec(text);
  return m ? WORDS[m[1].toLowerCase()] : undefined;
}

/**
 * The level of a structured line's level field: a word ("warning", "ERROR"), or a number on
 * pino/bunyan's scale (10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal).
 */
export function levelFromValue(value: unknown): Level | undefined {
  if (typeof value === 'string') return WORDS[value.toLowerCase()];
  if (typeof value === 'number') {
    if (value < 30) return 'debug';
    if (value < 40) return 'info';
    if (value < 50) return 'warn';
    return 'error';
  }
  return undefined;
}
