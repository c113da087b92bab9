// Reads pillion.yaml: YAML with positions, environment expansion, validation against the one
// schema, and errors as `file:line:col: field.path: message`, all of them at once.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Compile } from 'typebox/compile';
import { LineCounter, parseDocument } from 'yaml';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { ConfigSchema, type FileConfig } from './schema.ts';
import { type Issue, walkDocument } from './validate.ts';

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
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
  /** `file:line:col: path: message`, then for a syntax error the line (values masked) and a caret. */
  text: string;
}

let validator: ReturnType<typeof Compile<typeof ConfigSchema>> | undefined;

/** Parses and validates config text; throws ConfigError listing every problem. */
export function parseConfig(
  text: string,
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): LoadedConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): { line: number; col: number } => lc.linePos(offset);
  const fmt = (i: Issue, snippet: boolean): FormattedIssue => {
    const { line, col } = at(i.offset);
    let out = `${file}:${line}:${col}: ${i.path}: ${i.message}`;
    if (snippet) out += `\n${caret(text, line, col)}`;
    return { file, line, col, path: i.path, message: i.message, text: out };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) =>
        fmt(
          {
            offset: syntaxOffset(text, e.code, e.message, e.pos[0]),
            path: 'yaml',
            message: syntaxMessage(e.code, e.message),
          },
          true,
        ),
      ),
    );
  }
  const { value, issues, fromEnv } = walkDocument(doc, ConfigSchema, env);
  if (issues.length > 0) {
    issues.sort((a, b) => a.offset - b.offset);
    throw new ConfigError(issues.map((i) => fmt(i, false)));
  }
  validator ??= Compile(ConfigSchema);
  // The walk above knows every keyword the schema uses; this is the net under it.
  if (!validator.Check(value)) {
    const first = [...validator.Errors(value)][0];
    throw new ConfigError([
      fmt(
        {
          offset: 0,
          path: (first?.instancePath ?? '').slice(1).replaceAll('/', '.') || '(top level)',
          message: `does not match the schema (${first?.message ?? 'unknown'})`,
        },
        false,
      ),
    ]);
  }
  return { file, config: value as FileConfig, fromEnv };
}

/** Reads and validates a config file (named in errors as given); a file that cannot be read is a PILLION_CONFIG_UNREADABLE. */
export function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PillionError(
      ErrorCode.CONFIG_UNREADABLE,
      `${file}: cannot read the config file (${e.code ?? e.message}); check the path given by --config or PILLION_CONFIG`,
      { cause: err },
    );
  }
  return parseConfig(text, file, env);
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
