// `pillion validate`, `pillion schema` and `pillion config`: the config file without running.
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { redact, withDefaults } from '../config/effective.ts';
import { ConfigError, loadConfigFile } from '../config/load.ts';
import { ConfigSchema, jsonSchema } from '../config/schema.ts';
import { PillionError } from '../core/errors.ts';
import { findConfigFile, parseRunArgs } from './run.ts';
import { usageError } from './usage.ts';

export const VALIDATE_HELP = `Usage: pillion validate [FILE]

Checks a config file (default: $PILLION_CONFIG, else ./pillion.yaml) against the schema and
prints every problem as FILE:LINE:COL: field.path: message. Exits 0 when it is valid, 1 when not.
`;

export const CONFIG_HELP = `Usage: pillion config [FILE]

Prints the effective config: the file (default: $PILLION_CONFIG, else ./pillion.yaml) with
every default filled in and anything that may be a secret redacted.
`;

function fileArg(args: string[], command: string, help: string): string | undefined {
  let positionals: string[];
  let values: { help?: boolean };
  try {
    ({ positionals, values } = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0], `pillion ${command}`);
  }
  if (values.help) {
    process.stdout.write(help);
    return '';
  }
  if (positionals.length > 1)
    throw usageError(`one file at most, got ${positionals.length}`, `pillion ${command}`);
  const file = findConfigFile(positionals[0], process.env, process.cwd());
  if (file === undefined)
    throw usageError(
      'no config file: give FILE, set PILLION_CONFIG, or create ./pillion.yaml',
      `pillion ${command}`,
    );
  return file;
}

/** `pillion validate [FILE]`: 0 when valid, 1 with every problem on stderr when not. */
export function validateCommand(args: string[]): number {
  const file = fileArg(args, 'validate', VALIDATE_HELP);
  if (file === '' || file === undefined) return 0;
  try {
    const loaded = loadConfigFile(file);
    // The merge with defaults catches what only the whole config can tell (e.g. no command).
    parseRunArgs([], {}, { ...loaded, file });
  } catch (err) {
    if (err instanceof ConfigError) {
      const text = err.issues.map((i) => i.text).join('\n');
      process.stderr.write(`${text}\n${file}: ${err.issues.length} problem(s)\n`);
      return 1;
    }
    if (err instanceof PillionError && err.code === 'PILLION_USAGE') {
      // Only "no command and no port" reaches here: valid for `run -- CMD`, so a note.
      process.stdout.write(
        `${file}: valid (app.command is not set: give it after -- when running)\n`,
      );
      return 0;
    }
    if (err instanceof PillionError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  process.stdout.write(`${file}: valid\n`);
  return 0;
}

/** `pillion schema`: the JSON Schema of pillion.yaml, for editors and CI. */
export function schemaCommand(): number {
  process.stdout.write(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
  return 0;
}

/** `pillion config [FILE]`: the effective config, secrets redacted, as YAML. */
export function configCommand(args: string[]): number {
  const file = fileArg(args, 'config', CONFIG_HELP);
  if (file === '' || file === undefined) return 0;
  try {
    const loaded = loadConfigFile(file);
    const full = withDefaults(ConfigSchema, loaded.config) as Record<string, unknown>;
    full.state_dir ??= parseRunArgs(['--app-port', '1'], process.env)?.stateDir;
    process.stdout.write(stringify(redact(full, loaded.fromEnv)));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.issues.map((i) => i.text).join('\n')}\n`);
      return 1;
    }
    throw err;
  }
}
