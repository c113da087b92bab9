// Reads pillion.yaml: YAML with positions, environment expansion, validation against the one
// schema, and errors as `file:line:col: field.path: message`, all of them at once.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import type { Document, Node } from 'yaml';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { withDefaults } from './effective.ts';
import { applyFlags, flagFor, type RunArgs } from './flags.ts';
import { checkRules } from './rules.ts';
import type { FileConfig } from './schema.ts';
import { CONFIG_SCHEMA } from './schema-json.ts';
import { type Issue, walkDocument } from './validate.ts';
import { flagDocument, isMap } from './yaml-nodes.ts';

/** yaml, loaded only when there is config text to parse: 72 modules, 40-80 ms of a start. */
const yaml = (): typeof import('yaml') => createRequire(import.meta.url)('yaml');

/** A config file that was read and validated. */
export interface LoadedConfig {
  file: string;
  config: FileConfig;
  /** Field paths whose value came from the environment, with the variables used. */
  fromEnv: Map<string, string[]>;
}

/** An invalid config file: `issues` holds every problem, `message` all of them, one a line. */
export class ConfigError extends PillionError {
  readonly issues: readonly FormattedIssue[];
  constructor(issues: FormattedIssue[], options?: ErrorOptions) {
    super(ErrorCode.CONFIG_INVALID, issues.map((i) => i.text).join('\n'), options);
    this.issues = issues;
  }
}

export interface FormattedIssue {
  /** The config file; empty for a flag's problem. */
  file: string;
  /** The flag whose value is wrong, when a flag gave it. */
  flag?: string;
  line: number;
  col: number;
  path: string;
  message: string;
  /** `file:line:col: path: message`, then for a syntax error the line (values masked) and a caret. */
  text: string;
}

/** A merged file and flags that passed every check: the plain value, and where each field came from. */
export interface CheckedConfig extends LoadedConfig {
  doc: Document;
  /** Where a field was set, for errors found later: `file:line:col` or the flag; undefined for a default. */
  where(path: readonly (string | number)[]): string | undefined;
  /** True when the field's value came from a flag (paths in it are relative to the working directory). */
  fromFlag(path: readonly (string | number)[]): boolean;
}

/**
 * Parses config text (none: an empty config), sets the flags onto it at their fields, and
 * validates the merged tree once; throws ConfigError listing every problem. A file's problem
 * names `file:line:col` and the field, a flag's names the flag and the field.
 */
export function checkConfig(
  text: string | undefined,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  run?: Pick<RunArgs, 'values' | 'command'>,
  /** The document flags alone are set into (yaml-nodes.test.ts compares it with yaml's own). */
  flagsOnly: () => Document = flagDocument,
): CheckedConfig {
  const name = file ?? '(no file)';
  const src = text ?? '';
  const lc = text === undefined ? undefined : new (yaml().LineCounter)();
  const doc =
    text === undefined
      ? flagsOnly()
      : yaml().parseDocument(src, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  // yaml's LineCounter of no text says line 0 and the offset as the column.
  const at = (offset: number): { line: number; col: number } =>
    lc ? lc.linePos(offset) : { line: 0, col: offset };
  const fmt = (i: Issue, snippet: boolean): FormattedIssue => {
    if (i.flag) {
      return {
        file: '',
        flag: i.flag,
        line: 0,
        col: 0,
        path: i.path,
        message: i.message,
        text: `${i.flag}: ${i.path}: ${i.message}`,
      };
    }
    const { line, col } = at(i.offset);
    let out = `${name}:${line}:${col}: ${i.path}: ${i.message}`;
    if (snippet) out += `\n${caret(src, line, col)}`;
    return { file: name, line, col, path: i.path, message: i.message, text: out };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) =>
        fmt(
          {
            offset: syntaxOffset(src, e.code, e.message, e.pos[0]),
            path: 'yaml',
            message: syntaxMessage(e.code, e.message),
          },
          true,
        ),
      ),
    );
  }
  const applied = run ? applyFlags(doc, run) : { flags: new Map<Node, string>(), issues: [] };
  const { value, issues, fromEnv } = walkDocument(doc, CONFIG_SCHEMA, env, applied.flags, flagFor);
  issues.push(...applied.issues);
  const nodeAt = (path: readonly (string | number)[]): Node | undefined => {
    const n = doc.getIn(path, true) as Node | undefined;
    if (n) return n;
    // A map key without a value: point at the key.
    const parent = doc.getIn(path.slice(0, -1), true) as {
      items?: { key: Node; value: unknown }[];
    };
    return parent?.items?.find((p) => (p.key as { value?: unknown })?.value === path.at(-1))?.key;
  };
  const locate = (path: readonly (string | number)[]): { offset: number; flag?: string } => {
    const n = nodeAt(path);
    let flag = n ? applied.flags.get(n) : undefined;
    // A map only flags made (`app.liveness` from --liveness-interval): the first flag's.
    if (!flag && isMap(n) && n.items.every((p) => applied.flags.has(p.value as Node)))
      flag = applied.flags.get(n.items[0]?.value as Node);
    return { offset: n?.range?.[0] ?? 0, ...(flag ? { flag } : {}) };
  };
  if (issues.length === 0)
    issues.push(...checkRules(withDefaults(CONFIG_SCHEMA, value) as FileConfig, locate));
  if (issues.length > 0) {
    issues.sort((a, b) => a.offset - b.offset);
    throw new ConfigError(issues.map((i) => fmt(i, false)));
  }
  return {
    file: name,
    config: value as FileConfig,
    fromEnv,
    doc,
    where: (path) => {
      const n = nodeAt(path);
      if (!n) return undefined;
      const flag = applied.flags.get(n);
      if (flag) return flag;
      if (text === undefined || !n.range) return undefined;
      const { line, col } = at(n.range[0]);
      return `${name}:${line}:${col}`;
    },
    fromFlag: (path) => {
      const n = nodeAt(path);
      return n !== undefined && applied.flags.has(n);
    },
  };
}

/** Parses and validates config text; throws ConfigError listing every problem. */
export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  const { config, fromEnv } = checkConfig(text, file, env);
  return { file, config, fromEnv };
}

/** Reads a config file's text; a file that cannot be read is a PILLION_CONFIG_UNREADABLE. */
export function readConfigText(file: string, cwd = process.cwd()): string {
  try {
    return readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EISDIR' ? 'it is a directory' : (e.code ?? e.message);
    throw new PillionError(
      ErrorCode.CONFIG_UNREADABLE,
      `${file}: cannot read the config file (${why}); check the path given by --config or PILLION_CONFIG`,
      { cause: err },
    );
  }
}

/** Reads and validates a config file (named in errors as given). */
export function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): LoadedConfig {
  return parseConfig(readConfigText(file, cwd), file, env);
}

/**
 * Where to point for a syntax error. The parser reports an unclosed quote where the text
 * ends; the quote that opened it, on the last line with an odd count of that quote before
 * there, is where the fix goes.
 */
function syntaxOffset(text: string, code: string, message: string, pos: number): number {
  const quote = code === 'MISSING_CHAR' ? /closing (["'])/.exec(message)?.[1] : undefined;
  if (!quote) return pos;
  const lines = text.slice(0, pos).split('\n');
  let start = pos - (lines.at(-1)?.length ?? 0);
  for (let i = lines.length - 1; i >= 0; i--) {
    const n = lines[i].split(quote).length - 1;
    if (n % 2 === 1) return start + lines[i].lastIndexOf(quote);
    start -= (lines[i - 1]?.length ?? 0) + 1;
  }
  return pos;
}

function syntaxMessage(code: string, message: string): string {
  // The parser's own text may end with a position and an excerpt of the source; ours has both.
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  // A token the parser quotes could be part of a secret: it is dropped.
  return `YAML syntax error (${code}): ${first.replace(/: ".*"$/, '')}`;
}

/**
 * The source line with a caret under the column. Values on the line are masked (their length
 * kept so the caret lines up): a line that fails to parse may hold a secret.
 */
function caret(text: string, line: number, col: number): string {
  const src = text.split(/\r?\n/)[line - 1] ?? '';
  const m = /^(\s*(?:-\s+)*(?:[\w.-]+\s*:(?:\s+|$))?)(.*)$/.exec(src) ?? ['', '', src];
  const masked = m[1] + m[2].replace(/[^\s[\]{},:"'#]/g, '*');
  const num = String(line);
  return `  ${num} | ${masked}\n  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, col - 1))}^`;
}
