// `pillion validate`, `pillion schema` and `pillion config`: the config file without running.
// Both resolve the file the way `pillion run` does (config/resolve.ts).
import { stringify } from 'yaml';
import { escapeDollars, redact } from '../config/effective.ts';
import { parseRunArgv, type RunArgs } from '../config/flags.ts';
import { ConfigError } from '../config/load.ts';
import { findConfigFile, type Resolved, resolveConfig } from '../config/resolve.ts';
import { CONFIG_SCHEMA } from '../config/schema-json.ts';
import { PillionError } from '../core/errors.ts';
import { checkFiles } from './checks.ts';
import { usageError } from './usage.ts';

export const VALIDATE_HELP = `Usage: pillion validate [FILE] [RUN FLAGS...] [-- CMD...]

Checks a config file (default: $PILLION_CONFIG, else ./pillion.yaml) the way pillion run reads
it, and what can be checked without running: the certificate and key files exist, parse as PEM
and match, the ports do not clash, the state directory is usable. Prints every problem as
FILE:LINE:COL: field.path: message. Flags of pillion run given after FILE are merged the way
pillion run merges them (a flag's problem names the flag). Exits 0 when valid, 1 when not.
`;

export const CONFIG_HELP = `Usage: pillion config [FILE] [RUN FLAGS...] [-- CMD...]

Prints the effective config: the file (default: $PILLION_CONFIG, else ./pillion.yaml) with
the flags given merged in, every default filled in, paths made absolute, and anything that
may be a secret redacted. The output is itself a valid config file.
`;

/**
 * `[FILE] [RUN FLAGS...] [-- CMD...]`: the file, then any flags of `pillion run`, which are
 * merged the way `pillion run` merges them. Undefined when help was printed.
 */
function commandArgs(args: string[], command: string, help: string): RunArgs | undefined {
  if (args.includes('-h') || args.includes('--help')) {
    process.stdout.write(help);
    return undefined;
  }
  const first = args[0];
  const file = first !== undefined && !first.startsWith('-') ? first : undefined;
  let run: RunArgs;
  try {
    run = parseRunArgv(file === undefined ? args : args.slice(1));
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0], `pillion ${command}`);
  }
  if (file !== undefined) {
    if (run.config !== undefined)
      throw usageError('give FILE or --config, not both', `pillion ${command}`);
    run.config = file;
  }
  return run;
}

function resolveOrReport(run: RunArgs, command: string): Resolved | number {
  const named = findConfigFile(run.config, process.env, process.cwd());
  try {
    const r = resolveConfig({ run });
    if (r.file === undefined)
      throw usageError(
        'no config file: give FILE, set PILLION_CONFIG, or create ./pillion.yaml',
        `pillion ${command}`,
      );
    return r;
  } catch (err) {
    if (err instanceof ConfigError) {
      const text = err.issues.map((i) => i.text).join('\n');
      process.stderr.write(`${text}\n${named ?? 'flags'}: ${err.issues.length} problem(s)\n`);
      return 1;
    }
    if (err instanceof PillionError && err.code !== 'PILLION_USAGE') {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `pillion validate [FILE]`: 0 when valid, 1 with every problem on stderr when not. */
export function validateCommand(args: string[]): number {
  const a = commandArgs(args, 'validate', VALIDATE_HELP);
  if (!a) return 0;
  const r = resolveOrReport(a, 'validate');
  if (typeof r === 'number') return r;
  try {
    checkFiles(r, false);
  } catch (err) {
    if (!(err instanceof PillionError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  const s = r.settings;
  // Valid for `run -- CMD`, which gives the command: a note, not an error.
  const note =
    s.command === undefined && s.appPort === undefined
      ? ' (app.command is not set: give it after -- when running)'
      : '';
  process.stdout.write(`${r.file}: valid${note}\n`);
  return 0;
}

/** `pillion schema`: the JSON Schema of pillion.yaml, for editors and CI. */
export function schemaCommand(): number {
  process.stdout.write(`${JSON.stringify(CONFIG_SCHEMA, null, 2)}\n`);
  return 0;
}

/** `pillion config [FILE]`: the effective config, secrets redacted, as YAML that validates. */
export function configCommand(args: string[]): number {
  const a = commandArgs(args, 'config', CONFIG_HELP);
  if (!a) return 0;
  const r = resolveOrReport(a, 'config');
  if (typeof r === 'number') return r;
  process.stdout.write(stringify(escapeDollars(redact(r.tree, r.fromEnv))));
  return 0;
}
