import { parseDuration } from '../core/duration.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { parseSize } from '../core/size.ts';
import { ACCESS_FIELDS, type AccessFormat } from './access-log.ts';
import type { LogsOptions } from './index.ts';

/** The `pillion run` flags of the logs concern, for node:util parseArgs. */
export const LOG_FLAGS = {
  'log-format': { type: 'string' },
  'log-file': { type: 'string' },
  'log-file-max-size': { type: 'string' },
  'log-file-keep': { type: 'string' },
  'log-file-only': { type: 'boolean' },
  'log-buffer': { type: 'string' },
  'log-when-full': { type: 'string' },
  'log-long-lines': { type: 'string' },
  'log-max-line': { type: 'string' },
  'log-multiline': { type: 'string' },
  'log-stderr-level': { type: 'string' },
  'log-otlp-endpoint': { type: 'string' },
  'access-log-format': { type: 'string' },
  'access-log-fields': { type: 'string' },
  'log-redact-query': { type: 'string' },
} as const;

export const LOG_FLAGS_HELP = `Log flags:
  --log-format F         json (default) or human (coloured when stdout is a terminal)
  --log-file PATH        also write JSON lines to PATH, rotated by size
  --log-file-max-size S  rotate before the file passes S bytes (default 100M; K, M, G)
  --log-file-keep N      rotated files kept, PATH.1 to PATH.N (default 5)
  --log-file-only        write to the file (and OTLP) only, not to stdout
  --log-buffer S         bound on each sink's queue (default 16M)
  --log-when-full P      block (default: the app waits, nothing lost) or drop (counted)
  --log-long-lines P     split (default) or truncate app lines over --log-max-line
  --log-max-line S       longest app line kept whole (default 64K)
  --log-multiline D      join continuation lines (leading space or tab), waiting at most D
  --log-stderr-level L   level of app stderr lines that name none: info (default), debug,
                         warn or error
  --log-otlp-endpoint U  also ship logs to an OpenTelemetry collector (OTLP/HTTP JSON)
  --access-log-format F  json (default), common or combined
  --access-log-fields L  comma-separated JSON fields of access lines
  --log-redact-query L   comma-separated query parameters logged as [REDACTED]
`;

export type LogFlagValues = {
  [K in keyof typeof LOG_FLAGS]?: (typeof LOG_FLAGS)[K]['type'] extends 'boolean'
    ? boolean
    : string;
};

function usage(message: string): PillionError {
  return new PillionError(ErrorCode.USAGE, `${message}\nRun 'pillion run --help' for usage.`);
}

/** Bytes, with an optional K, M or G (powers of 1024). */
function size(text: string | undefined, flag: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = parseSize(text);
  if (n === undefined || n < min)
    throw usage(`${flag}: '${text}' is not a size of at least ${min} bytes (e.g. 64K, 16M)`);
  return n;
}

function oneOf<T extends string>(
  text: string | undefined,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text))
    throw usage(`${flag}: '${text}' is not one of ${allowed.join(', ')}`);
  return text as T;
}

const list = (text: string | undefined): string[] | undefined =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** The log options the flags ask for, or undefined when no log flag was given. */
export function logsFromFlags(values: LogFlagValues): Partial<LogsOptions> | undefined {
  if (!Object.keys(LOG_FLAGS).some((k) => values[k as keyof LogFlagValues] !== undefined))
    return undefined;
  const logs: Partial<LogsOptions> = {};
  const format = oneOf(values['log-format'], '--log-format', ['json', 'human'] as const);
  if (format) logs.format = format;
  if (values['log-file'] !== undefined) {
    const keep = values['log-file-keep'];
    if (keep !== undefined && !/^\d+$/.test(keep))
      throw usage(`--log-file-keep: '${keep}' is not a whole number`);
    logs.file = {
      path: values['log-file'],
      maxBytes: size(values['log-file-max-size'], '--log-file-max-size', 1024) ?? 100 * 1024 * 1024,
      keep: keep === undefined ? 5 : Number(keep),
    };
  } else if (values['log-file-max-size'] || values['log-file-keep'] || values['log-file-only']) {
    throw usage('--log-file-max-size, --log-file-keep and --log-file-only need --log-file');
  }
  if (values['log-file-only']) logs.stdout = false;
  const buffer = size(values['log-buffer'], '--log-buffer', 64 * 1024);
  if (buffer !== undefined) logs.bufferBytes = buffer;
  const whenFull = oneOf(values['log-when-full'], '--log-when-full', ['block', 'drop'] as const);
  if (whenFull) logs.whenFull = whenFull;
  const app: Partial<LogsOptions['app']> = {};
  const overLong = oneOf(values['log-long-lines'], '--log-long-lines', [
    'split',
    'truncate',
  ] as const);
  if (overLong) app.overLong = overLong;
  const maxLine = size(values['log-max-line'], '--log-max-line', 64);
  if (maxLine !== undefined) app.maxLineBytes = maxLine;
  if (values['log-multiline'] !== undefined) {
    const ms = parseDuration(values['log-multiline']);
    if (ms === undefined)
      throw usage(`--log-multiline: '${values['log-multiline']}' is not a duration (e.g. 200ms)`);
    app.multilineMs = ms;
  }
  const stderrLevel = oneOf(values['log-stderr-level'], '--log-stderr-level', [
    'debug',
    'info',
    'warn',
    'error',
  ] as const);
  if (stderrLevel) app.stderrLevel = stderrLevel;
  logs.app = app as LogsOptions['app'];
  if (values['log-otlp-endpoint'] !== undefined) {
    const url = values['log-otlp-endpoint'];
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw usage(`--log-otlp-endpoint: '${url}' is not an http(s) URL`);
    logs.otlp = { endpoint: url };
  }
  const access: Partial<LogsOptions['access']> = {};
  const accessFormat = oneOf<AccessFormat>(values['access-log-format'], '--access-log-format', [
    'json',
    'common',
    'combined',
  ]);
  if (accessFormat) access.format = accessFormat;
  const fields = list(values['access-log-fields']);
  if (fields) {
    const bad = fields.find((f) => !(ACCESS_FIELDS as readonly string[]).includes(f));
    if (bad)
      throw usage(
        `--access-log-fields: unknown field '${bad}' (known: ${ACCESS_FIELDS.join(', ')})`,
      );
    access.fields = fields;
  }
  const redact = list(values['log-redact-query']);
  if (redact) access.redactQuery = redact;
  logs.access = access as LogsOptions['access'];
  return logs;
}
