// The log fields of pillion.yaml, written as the `pillion run` flags that set them, so that one
// parser checks both and a flag given on the command line wins.
import type { FileConfig } from '../config/schema.ts';
import type { LogFlagValues } from '../logs/flags.ts';

export function logFlagsOf(fc: FileConfig | undefined): LogFlagValues {
  const l = fc?.logs;
  if (!l) return {};
  const v: LogFlagValues = {
    'log-format': l.format,
    'log-file': l.file?.path,
    'log-file-max-size': l.file?.max_size === undefined ? undefined : String(l.file.max_size),
    'log-file-keep': l.file?.keep === undefined ? undefined : String(l.file.keep),
    'log-buffer': l.buffer === undefined ? undefined : String(l.buffer),
    'log-when-full': l.when_full,
    'log-otlp-endpoint': l.otlp?.endpoint,
  };
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as LogFlagValues;
}
