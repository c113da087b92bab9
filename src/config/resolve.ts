// The one path from a config file and flags to the settings Pillion runs with. `pillion
// validate`, `pillion config` and `pillion run` (and each reload) all go through resolveConfig,
// so what one accepts the others accept.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { withDefaults } from './effective.ts';
import type { RunArgs } from './flags.ts';
import { checkConfig, readConfigText } from './load.ts';
import type { FileConfig } from './schema.ts';
import { CONFIG_SCHEMA, type SchemaNode } from './schema-json.ts';
import { type Settings, settingsOf } from './settings.ts';

export interface ResolveInput {
  /** `pillion run`'s flags and command; none for validate and config. */
  run?: Pick<RunArgs, 'values' | 'command' | 'config'>;
  /** The config file named by the command line; else $PILLION_CONFIG, else ./pillion.yaml. */
  file?: string;
  /** The file's text when it was read already (a reload); else it is read. */
  text?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface Resolved {
  /** The config file as named, if there is one. */
  file?: string;
  /** The merged config: every default filled in, paths absolute (what `pillion config` prints). */
  tree: FileConfig;
  /** Field paths whose value came from the environment, with the variables used. */
  fromEnv: Map<string, string[]>;
  settings: Settings;
  /** Where a field was set (`file:line:col`, or its flag); undefined for a default. */
  where(path: readonly (string | number)[]): string | undefined;
}

/** Where the config file is: the one named, else $PILLION_CONFIG, else ./pillion.yaml if it exists. */
export function findConfigFile(
  named: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): string | undefined {
  if (named !== undefined) return named;
  if (env.PILLION_CONFIG) return env.PILLION_CONFIG;
  return existsSync(join(cwd, 'pillion.yaml')) ? 'pillion.yaml' : undefined;
}

/** Reads, merges and validates the config once; throws ConfigError (every problem) or a PillionError. */
export function resolveConfig(input: ResolveInput = {}): Resolved {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const file = findConfigFile(input.run?.config ?? input.file, env, cwd);
  const text = file === undefined ? undefined : (input.text ?? readConfigText(file, cwd));
  const checked = checkConfig(text, file, env, input.run);
  const tree = withDefaults(CONFIG_SCHEMA, checked.config) as FileConfig;
  // A path in the file is relative to the file's directory; a flag's, to the working directory.
  const fileDir = file === undefined ? cwd : dirname(resolve(cwd, file));
  absolutePaths(CONFIG_SCHEMA, tree, [], (path) => (checked.fromFlag(path) ? cwd : fileDir));
  tree.state_dir ??= defaultStateDir(env);
  return {
    ...(file !== undefined ? { file } : {}),
    tree,
    fromEnv: checked.fromEnv,
    settings: settingsOf(tree, file),
    where: checked.where,
  };
}

/** Makes every `path` field of the tree absolute, in place. */
function absolutePaths(
  s: SchemaNode,
  value: unknown,
  path: (string | number)[],
  base: (path: (string | number)[]) => string,
): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const items = s.items;
    if (items) for (const [i, x] of value.entries()) absolutePaths(items, x, [...path, i], base);
    return;
  }
  const v = value as Record<string, unknown>;
  const entries: [string, SchemaNode][] = s.properties
    ? Object.entries(s.properties)
    : s.patternProperties
      ? Object.keys(v).map((k) => [k, Object.values(s.patternProperties ?? {})[0]])
      : [];
  for (const [k, sub] of entries) {
    const x = v[k];
    if (x === undefined) continue;
    if (sub['x-kind'] === 'path' && typeof x === 'string' && !isAbsolute(x))
      v[k] = resolve(base([...path, k]), x);
    else absolutePaths(sub, x, [...path, k], base);
  }
}

/** The state directory when neither the file nor a flag sets one. */
export function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.PILLION_STATE_DIR) return resolve(env.PILLION_STATE_DIR);
  // The XDG spec says a relative value is to be ignored.
  if (env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME))
    return join(env.XDG_STATE_HOME, 'pillion');
  return join(env.HOME || homedir(), '.local', 'state', 'pillion');
}
