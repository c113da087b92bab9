// Walks the YAML tree beside the schema, so every problem is reported at once with the
// position of the node it concerns, and builds the plain value (environment expanded) as it goes.
import type { Document, Node, Pair, Scalar, YAMLMap } from 'yaml';
import { parseDuration } from '../core/duration.ts';
import { parseSize } from '../core/size.ts';
import { expandEnv } from './expand.ts';
import type { SchemaNode } from './schema-json.ts';
import { didYouMean } from './suggest.ts';
import { isAlias, isMap, isScalar, isSeq } from './yaml-nodes.ts';

/** One problem found in a config file; `offset` is a character offset into the source. */
export interface Issue {
  offset: number;
  path: string;
  message: string;
  /** The command-line flag that gave the value, when a flag did. */
  flag?: string;
}

export interface WalkResult {
  value: unknown;
  issues: Issue[];
  /** Paths of strings that came from the environment, with the variables they used. */
  fromEnv: Map<string, string[]>;
}

interface Ctx {
  doc: Document;
  env: NodeJS.ProcessEnv;
  /** Nodes set from command-line flags, with the flag: their text is not expanded, and errors name the flag. */
  flags: ReadonlyMap<Node, string>;
  /** The flag that sets a field, for "needs --key too". */
  flagFor: (path: string) => string | undefined;
  issues: Issue[];
  fromEnv: Map<string, string[]>;
}

/** Checks a parsed document against the schema; never echoes a string value in a message. */
export function walkDocument(
  doc: Document,
  schema: unknown,
  env: NodeJS.ProcessEnv,
  flags: ReadonlyMap<Node, string> = new Map(),
  flagFor: (path: string) => string | undefined = () => undefined,
): WalkResult {
  const ctx: Ctx = { doc, env, flags, flagFor, issues: [], fromEnv: new Map() };
  const root = doc.contents as Node | null;
  // An empty file is an empty config: every field takes its default.
  if (root === null || (isScalar(root) && root.value === null))
    return { value: {}, issues: [], fromEnv: ctx.fromEnv };
  const value = walk(root, schema as SchemaNode, [], ctx, root);
  return { value, issues: ctx.issues, fromEnv: ctx.fromEnv };
}

type Path = (string | number)[];

/** An unknown key is echoed only if it looks like a name, not like a pasted value. */
const NAME_LIKE = /^[A-Za-z_][A-Za-z0-9_-]{0,39}$/;

/**
 * A key that may be a secret pasted in the wrong place: long, or a mix of letters and digits
 * the way tokens are (`sk_live_4eC39Hq…`, `ghp_…`). Such a key is never echoed.
 */
export function mayBeSecret(key: string): boolean {
  if (key.length > 24) return true;
  const digits = key.replace(/\D/g, '').length;
  return key.length >= 12 && digits >= 3 && /[A-Za-z]/.test(key);
}

export function formatPath(path: Path): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${p}` : p;
  return out || '(top level)';
}

function issue(ctx: Ctx, at: Node | undefined, path: Path, message: string): undefined {
  const flag = at ? ctx.flags.get(at) : undefined;
  ctx.issues.push({
    offset: at?.range?.[0] ?? 0,
    path: formatPath(path),
    message,
    ...(flag ? { flag } : {}),
  });
  return undefined;
}

/** What a node holds, in words, without its value. */
function describe(v: unknown): string {
  if (v === null || v === undefined) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return v === '' ? 'an empty string' : 'a string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'a number' : 'a decimal number';
  if (typeof v === 'boolean') return 'a boolean';
  return 'a map';
}

function nodeKind(node: Node): unknown {
  if (isMap(node)) return {};
  if (isSeq(node)) return [];
  return (node as Scalar).value;
}

/** A scalar's value with environment references expanded (strings only). */
function scalarValue(
  node: Scalar,
  path: Path,
  ctx: Ctx,
): { ok: boolean; value: unknown; expanded: boolean } {
  const v = node.value;
  if (typeof v !== 'string') return { ok: true, value: v, expanded: false };
  // A flag's text came through the shell already: not expanded again, but read as a number
  // or boolean where the field wants one, as a value from the environment is.
  if (ctx.flags.has(node)) return { ok: true, value: v, expanded: true };
  const r = expandEnv(v, ctx.env);
  if (!r.ok) {
    issue(ctx, node, path, r.message);
    return { ok: false, value: undefined, expanded: false };
  }
  if (r.vars.length > 0) ctx.fromEnv.set(formatPath(path), r.vars);
  return { ok: true, value: r.value, expanded: r.vars.length > 0 };
}

function walk(node: Node, s: SchemaNode, path: Path, ctx: Ctx, keyNode: Node | undefined): unknown {
  if (s['x-not-yet'] !== undefined) {
    return issue(
      ctx,
      keyNode ?? node,
      path,
      `not supported yet: ${s['x-not-yet']} will come in a later release; remove this key`,
    );
  }
  if (isAlias(node)) {
    const target = node.resolve(ctx.doc);
    if (!target) return issue(ctx, node, path, 'alias to an anchor that is not defined');
    return walk(target as Node, s, path, ctx, keyNode);
  }
  if (s.type === undefined && s.anyOf === undefined && s.const === undefined)
    return plain(node, path, ctx);
  // A scalar or a map (`timeout: 2s | {connect, …}`): the branch that fits the node's shape.
  const branch = s.anyOf?.find((b) => b.type === 'object');
  if (branch) {
    const other = s.anyOf?.find((b) => b !== branch) as SchemaNode;
    return walk(node, isMap(node) ? branch : other, path, ctx, keyNode);
  }
  if (s['x-kind'] === 'duration' || s['x-kind'] === 'size')
    return walkMeasure(node, path, ctx, MEASURES[s['x-kind']], s['x-min']);
  if (s.anyOf) return walkEnum(node, s, path, ctx);
  if (s.type === 'object') return walkObject(node, s, path, ctx, keyNode);
  if (s.type === 'array') return walkArray(node, s, path, ctx);
  return walkScalar(node, s, path, ctx);
}

/** Any value (app.config): converted as is, strings expanded. */
function plain(node: Node, path: Path, ctx: Ctx): unknown {
  if (isAlias(node)) return plain(node.resolve(ctx.doc) as Node, path, ctx);
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      out[key] = pair.value ? plain(pair.value as Node, [...path, key], ctx) : null;
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((n, i) => plain(n as Node, [...path, i], ctx));
  return scalarValue(node as Scalar, path, ctx).value;
}

/** A duration or a size: a number, or a string with a unit, checked by its parser. */
const MEASURES = {
  duration: {
    parse: parseDuration,
    words: 'a duration such as 10s, 500ms or 2m',
    units: 'ms, s, m, h; at most 24 days',
  },
  size: {
    parse: parseSize,
    words: 'a size such as 512, 16KiB, 64K or 1MiB',
    units: 'B, K, KB, KiB, M, MB, MiB, G, GB, GiB',
  },
} as const;

function walkMeasure(
  node: Node,
  path: Path,
  ctx: Ctx,
  m: (typeof MEASURES)[keyof typeof MEASURES],
  min: number | undefined,
): unknown {
  const got = isScalar(node)
    ? scalarValue(node, path, ctx)
    : { ok: true, value: nodeKind(node), expanded: false };
  if (!got.ok) return undefined;
  let v = got.value;
  // A flag's bare number is text: read it as the number it is.
  if (got.expanded && typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) v = Number(v);
  const parsed =
    typeof v === 'number' && v >= 0
      ? m.parse(String(v))
      : typeof v === 'string'
        ? m.parse(v)
        : undefined;
  if (parsed !== undefined && min !== undefined && parsed < min)
    return issue(ctx, node, path, `expected a size of at least ${min} bytes, got a smaller one`);
  if (parsed !== undefined) return v;
  const what =
    typeof v === 'string' && /^\s*\d/.test(v)
      ? `a string that is not one (units: ${m.units})`
      : describe(v);
  return issue(ctx, node, path, `expected ${m.words}, got ${what}`);
}

function walkEnum(node: Node, s: SchemaNode, path: Path, ctx: Ctx): unknown {
  const branches = s.anyOf ?? [];
  const choices = branches.filter((b) => b.const !== undefined).map((b) => b.const);
  const got = isScalar(node)
    ? scalarValue(node, path, ctx)
    : { ok: true, value: nodeKind(node), expanded: false };
  if (!got.ok) return undefined;
  if (choices.includes(got.value)) return got.value;
  // A number or a named value (`workers: 4 | auto`): the number branch checked as a scalar.
  if (choices.length < branches.length) {
    let v = got.value;
    // A flag's or the environment's text is read as the number it is (`--workers 4`); a
    // leading zero is no number here.
    if (got.expanded && typeof v === 'string' && /^(0|[1-9]\d*)(\.\d+)?$/.test(v)) v = Number(v);
    const fits = branches.some(
      (b) =>
        typeof v === 'number' &&
        (b.type === 'integer' ? Number.isInteger(v) : b.type === 'number') &&
        (b.minimum === undefined || v >= b.minimum),
    );
    if (fits) return v;
    const what = typeof v === 'number' ? String(v) : describe(v);
    return issue(ctx, node, path, `expected ${expected(s)}, got ${what}`);
  }
  const names = choices.map(String);
  const near = typeof got.value === 'string' ? didYouMean(got.value, names) : undefined;
  return issue(
    ctx,
    node,
    path,
    `expected one of ${names.join(', ')}, got ${near ? `an unknown value; did you mean '${near}'?` : describe(got.value)}`,
  );
}

function walkObject(
  node: Node,
  s: SchemaNode,
  path: Path,
  ctx: Ctx,
  keyNode: Node | undefined,
): unknown {
  if (!isMap(node)) {
    const v = nodeKind(node);
    return issue(ctx, node, path, `expected a map of keys, got ${describe(v)}`);
  }
  const props = s.properties ?? {};
  const patterns = Object.entries(s.patternProperties ?? {});
  const out: Record<string, unknown> = {};
  let bad = false;
  for (const pair of (node as YAMLMap).items as Pair<Node, Node | null>[]) {
    // A key set from a flag is a plain string; a key from the file is a node with a position.
    const k = (typeof pair.key === 'string' ? undefined : pair.key) as Node;
    const key = typeof pair.key === 'string' ? pair.key : isScalar(k) ? k.value : undefined;
    if (typeof key !== 'string') {
      issue(
        ctx,
        k ?? node,
        path,
        `keys must be plain strings, got ${describe(key ?? nodeKind(k))}`,
      );
      bad = true;
      continue;
    }
    const sub = [...path, key];
    let schema = props[key];
    if (!schema && patterns.length > 0) {
      const [pattern, valueSchema] = patterns[0];
      if (!new RegExp(pattern).test(key) || mayBeSecret(key)) {
        // A name that breaks the rules is not echoed: it may be a value pasted as a key.
        sub[sub.length - 1] = '<name>';
        issue(
          ctx,
          k,
          sub,
          mayBeSecret(key) && new RegExp(pattern).test(key)
            ? 'this name looks like a secret value (long, or letters mixed with digits); name the secret, and give its value in a file or a variable'
            : `not a valid name: expected ${s['x-key-expected'] ?? `a name matching ${pattern}`}`,
        );
        bad = true;
        continue;
      }
      schema = valueSchema;
    }
    if (!schema) {
      const echo = NAME_LIKE.test(key) && !mayBeSecret(key);
      if (!echo) sub[sub.length - 1] = '<key>';
      const names = Object.keys(props);
      const near = echo ? didYouMean(key, names) : undefined;
      issue(
        ctx,
        k,
        sub,
        near
          ? `unknown key; did you mean '${near}'?`
          : `unknown key; expected one of: ${names.join(', ')}`,
      );
      bad = true;
      continue;
    }
    const value = pair.value ?? ({ value: null, range: k?.range } as unknown as Node);
    const v = walk(value, schema, sub, ctx, k);
    if (v === undefined) bad = true;
    else out[key] = v;
  }
  for (const req of s.required ?? []) {
    if (!(node as YAMLMap).has(req)) {
      // A map only flags made: the flag given needs the one that sets the missing key.
      const items = (node as YAMLMap).items as Pair<Node, Node | null>[];
      const fromFlag = items.every((p) => p.value && ctx.flags.has(p.value));
      const at = fromFlag ? (items[0]?.value ?? undefined) : (keyNode ?? node);
      const need = ctx.flagFor(formatPath([...path, req]));
      issue(
        ctx,
        at,
        [...path, req],
        fromFlag && need ? `needs ${need} too` : 'required key is missing',
      );
      bad = true;
    }
  }
  const count = (node as YAMLMap).items.length;
  if (
    (s.minProperties !== undefined && count < s.minProperties) ||
    (s.maxProperties !== undefined && count > s.maxProperties)
  ) {
    const names = Object.keys(props).join(' or ');
    issue(ctx, node, path, `give exactly one of ${names}`);
    bad = true;
  }
  return bad ? undefined : out;
}

function walkArray(node: Node, s: SchemaNode, path: Path, ctx: Ctx): unknown {
  if (!isSeq(node))
    return issue(ctx, node, path, `expected a list, got ${describe(nodeKind(node))}`);
  if (s.minItems !== undefined && node.items.length < s.minItems)
    return issue(
      ctx,
      node,
      path,
      `expected a list of at least ${s.minItems} item(s), got an empty list`,
    );
  let bad = false;
  const out = node.items.map((n, i) => {
    const v = walk(n as Node, s.items ?? {}, [...path, i], ctx, undefined);
    if (v === undefined) bad = true;
    return v;
  });
  return bad ? undefined : out;
}

const KIND_WORDS: Record<string, string> = {
  listen: 'HOST:PORT such as 0.0.0.0:8443 or [::]:8443',
  path: 'a file path',
  size: 'a size such as 512, 16KiB or 1MiB',
};

function walkScalar(node: Node, s: SchemaNode, path: Path, ctx: Ctx): unknown {
  if (!isScalar(node))
    return issue(ctx, node, path, `expected ${expected(s)}, got ${describe(nodeKind(node))}`);
  const got = scalarValue(node, path, ctx);
  if (!got.ok) return undefined;
  let v = got.value;
  // A value from the environment is always text: read numbers and booleans from it.
  if (got.expanded && typeof v === 'string') {
    if ((s.type === 'integer' || s.type === 'number') && /^\d+(\.\d+)?$/.test(v)) v = Number(v);
    if (s.type === 'boolean' && (v === 'true' || v === 'false')) v = v === 'true';
  }
  if (s.const !== undefined) {
    return v === s.const
      ? v
      : issue(ctx, node, path, `expected '${String(s.const)}', got ${describe(v)}`);
  }
  switch (s.type) {
    case 'string': {
      if (typeof v !== 'string') {
        const hint =
          typeof v === 'number' || typeof v === 'boolean' ? ' (quote it to make it a string)' : '';
        return issue(ctx, node, path, `expected ${expected(s)}, got ${describe(v)}${hint}`);
      }
      if (s.minLength !== undefined && v.length < s.minLength)
        return issue(ctx, node, path, `expected ${expected(s)}, got an empty string`);
      const pattern = s['x-pattern'] ?? s.pattern;
      if (pattern !== undefined && !new RegExp(pattern).test(v))
        return issue(ctx, node, path, `expected ${expected(s)}, got a string that is not one`);
      if (s['x-kind'] === 'listen' && Number(v.slice(v.lastIndexOf(':') + 1)) > 65535)
        return issue(ctx, node, path, 'the port must be from 0 to 65535');
      if (s['x-kind'] === 'size' && parseSize(v) === undefined)
        return issue(ctx, node, path, `expected ${expected(s)}, got a string that is not one`);
      return v;
    }
    case 'integer':
    case 'number': {
      if (typeof v !== 'number')
        return issue(ctx, node, path, `expected ${expected(s)}, got ${describe(v)}`);
      if (
        (s.type === 'integer' && !Number.isInteger(v)) ||
        (s.minimum !== undefined && v < s.minimum) ||
        (s.maximum !== undefined && v > s.maximum)
      )
        return issue(ctx, node, path, `expected ${expected(s)}, got ${v}`);
      return v;
    }
    case 'boolean':
      return typeof v === 'boolean'
        ? v
        : issue(ctx, node, path, `expected true or false, got ${describe(v)}`);
    default:
      return v;
  }
}

function expected(s: SchemaNode): string {
  if (s['x-expected']) return s['x-expected'];
  if (s['x-kind']) return KIND_WORDS[s['x-kind']] ?? s['x-kind'];
  if (s.type === 'integer' || s.type === 'number') {
    const what = s.type === 'integer' ? 'a whole number' : 'a number';
    if (s.minimum !== undefined && s.maximum !== undefined)
      return `${what} from ${s.minimum} to ${s.maximum}`;
    if (s.minimum !== undefined) return `${what} of at least ${s.minimum}`;
    return what;
  }
  const pattern = s['x-pattern'] ?? s.pattern;
  if (pattern) return `a string matching ${pattern}`;
  return `a ${s.type ?? 'value'}`;
}
