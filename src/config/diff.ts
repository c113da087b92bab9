// What a reload changes, field by field, and how each change applies: read from the schema's
// `x-live` and `x-app-restart` beside each field, so the reload and docs/config.md agree.
import type { FileConfig } from './schema.ts';
import { CONFIG_SCHEMA, type SchemaNode } from './schema-json.ts';

/** How a changed field takes effect on a running Pillion. */
export type Apply = 'live' | 'app-restart' | 'restart';

export interface FieldChange {
  /** The field path, as in pillion.yaml (`ingress.limits.max_body_bytes`). */
  path: string;
  apply: Apply;
}

/** How a field applies, from the nearest declaration on its way from the root. */
function applyOf(chain: SchemaNode[]): Apply {
  for (let i = chain.length - 1; i >= 0; i--) {
    const s = chain[i];
    if (s['x-live'] === true) return 'live';
    if (s['x-app-restart'] === true) return 'app-restart';
    if (s['x-live'] === false) return 'restart';
  }
  return 'restart';
}

/**
 * The fields whose value differs between two resolved trees, at the depth the schema declares
 * them (a map of free names such as `app.secrets`, or `app.config`, is one field). Values are
 * compared, never reported.
 */
export function changedFields(a: FileConfig, b: FileConfig): FieldChange[] {
  const out: FieldChange[] = [];
  const visit = (s: SchemaNode, x: unknown, y: unknown, path: string, chain: SchemaNode[]) => {
    if (s.type === 'object' && s.properties && s['x-live'] === undefined) {
      const xo = (x ?? {}) as Record<string, unknown>;
      const yo = (y ?? {}) as Record<string, unknown>;
      for (const [k, sub] of Object.entries(s.properties)) {
        visit(sub, xo[k], yo[k], path ? `${path}.${k}` : k, [...chain, sub]);
      }
      return;
    }
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ path, apply: applyOf(chain) });
  };
  const root = CONFIG_SCHEMA;
  visit(root, a, b, '', [root]);
  return out;
}
