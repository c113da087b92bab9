// The effective config as `pillion config` prints it: defaults filled in from the schema, and
// anything that may be a secret redacted.

import type { SchemaNode } from './schema-json.ts';
import { formatPath, mayBeSecret } from './validate.ts';

export const REDACTED = '<redacted>';
/** Names that suggest a secret, in keys under app.config and in environment variable names. */
const SECRET_NAME = /pass|secret|token|key|cred|auth|private|cookie|session|signature/i;

/** The value with every default of the schema filled in where the file leaves it out. */
export function withDefaults(schema: unknown, value: unknown): unknown {
  const s = schema as SchemaNode;
  // A duration or a map (`timeout: 2s | {connect, …}`): a map gets the map branch's defaults.
  const branch = s.anyOf?.find((b) => b.type === 'object');
  if (branch && value !== null && typeof value === 'object') return withDefaults(branch, value);
  // A map of free names (`egress.services`): each entry gets its defaults.
  const entry = Object.values(s.patternProperties ?? {})[0];
  if (entry && value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, withDefaults(entry, x)]));
  if (s.type !== 'object' || !s.properties) return value;
  if (value !== undefined && (typeof value !== 'object' || value === null)) return value;
  const v = (value ?? {}) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...v };
  for (const [k, sub] of Object.entries(s.properties)) {
    if (sub['x-not-yet'] !== undefined) continue;
    if (v[k] !== undefined) out[k] = withDefaults(sub, v[k]);
    else if (sub.default !== undefined) out[k] = sub.default;
    // A map whose presence turns a feature on (a log file, a liveness check) stays absent.
    else if (
      sub.type === 'object' &&
      !sub['x-presence'] &&
      !sub.required?.length &&
      hasDefaults(sub)
    )
      out[k] = withDefaults(sub, undefined);
  }
  return out;
}

function hasDefaults(s: SchemaNode): boolean {
  return Object.values(s.properties ?? {}).some(
    (p) => p['x-not-yet'] === undefined && (p.default !== undefined || hasDefaults(p)),
  );
}

/**
 * Redacts what may be a secret: every string under `app.config` that came from the
 * environment or sits under a key named like a secret, and any value taken from a variable
 * named like one (`${DB_PASSWORD}`).
 */
export function redact(value: unknown, fromEnv: Map<string, string[]>): unknown {
  const visit = (
    v: unknown,
    path: (string | number)[],
    inAppConfig: boolean,
    secretKey: boolean,
  ): unknown => {
    if (Array.isArray(v)) return v.map((x, i) => visit(x, [...path, i], inAppConfig, secretKey));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      let hidden = 0;
      for (const [k, x] of Object.entries(v)) {
        const sub = [...path, k];
        const inConfig = inAppConfig || formatPath(sub) === 'app.config';
        // A key of the app's config that looks like a pasted token is not printed either.
        const key = inAppConfig && mayBeSecret(k) ? `<redacted-key-${++hidden}>` : k;
        out[key] = visit(x, sub, inConfig, secretKey || (inAppConfig && SECRET_NAME.test(k)));
      }
      return out;
    }
    const vars = fromEnv.get(formatPath(path));
    if (secretKey && v !== null && v !== undefined) return REDACTED;
    if (vars && (inAppConfig || vars.some((n) => SECRET_NAME.test(n)))) return REDACTED;
    return typeof v === 'string' ? redactUserinfo(v) : v;
  };
  return visit(value, [], false, false);
}

/**
 * A URL's password (`https://user:PASSWORD@host`) redacted; a user alone may be a token
 * (`https://TOKEN@host`) and is redacted too.
 */
export function redactUserinfo(text: string): string {
  return text.replace(
    /^([a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*)@/i,
    (_m, scheme: string, info: string) => {
      const colon = info.indexOf(':');
      return `${scheme}${colon === -1 ? REDACTED : `${info.slice(0, colon)}:${REDACTED}`}@`;
    },
  );
}

/** Every `$` in the strings written as `$$`, so the printed config reads back to the same values. */
export function escapeDollars(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$', '$$$$');
  if (Array.isArray(value)) return value.map(escapeDollars);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)]));
  return value;
}
