// The schema of pillion.yaml as JSON, generated from schema.ts by `npm run docs:config` and
// checked in (schema-json.test.ts fails when it is stale). Everything that runs reads this one:
// building and compiling the typebox schema took about 200 ms of every start
// (bench/startup.ts), and typebox is 680 modules. schema.ts stays the source of truth.
import schemaJson from './schema.json' with { type: 'json' };

/** Annotations Pillion reads from the schema besides JSON Schema's own keywords. */
export interface Annotations {
  /** How a string is parsed beyond its JSON type. */
  'x-kind'?: 'duration' | 'size' | 'listen' | 'path';
  /** Applies to a running Pillion on reload, or needs a restart. */
  'x-live'?: boolean;
  /** Needs a restart, but with `app.restart_on_change` a reload applies it by restarting the app. */
  'x-app-restart'?: boolean;
  /** A reserved name whose feature has not landed: present in a file, it is an error. */
  'x-not-yet'?: string;
  /** Default shown in the docs when it is not a plain value (e.g. "detected"). */
  'x-default'?: string;
  /** What a pattern means, for error messages: "a signal name such as SIGTERM". */
  'x-expected'?: string;
  /** What the keys of a map with free names must look like, for error messages. */
  'x-key-expected'?: string;
  /** The pattern checked after environment expansion (`pattern` also admits `${VAR}` for editors). */
  'x-pattern'?: string;
  /** A size's least value, in bytes. */
  'x-min'?: number;
  /** A map whose presence turns a feature on: its defaults are not filled in when it is absent. */
  'x-presence'?: boolean;
}

/** A JSON Schema node of schema.json, with Pillion's annotations. */
export type SchemaNode = Annotations & {
  type?: string;
  default?: unknown;
  description?: string;
  const?: unknown;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  minItems?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minProperties?: number;
  maxProperties?: number;
};

/** The schema node of a field path such as `ingress.limits.max_header_bytes`. */
export function schemaAt(path: string): SchemaNode | undefined {
  let s: SchemaNode | undefined = CONFIG_SCHEMA;
  for (const key of path.split('.')) s = s?.properties?.[key];
  return s;
}

/** A field's default as the docs and help show it. */
export function shownDefault(s: SchemaNode): string | undefined {
  if (s['x-default'] !== undefined) return s['x-default'];
  if (s.default === undefined) return undefined;
  return Array.isArray(s.default) ? s.default.join(',') || 'none' : String(s.default);
}

/** The published JSON Schema of pillion.yaml: what `pillion schema` prints, and what Pillion checks. */
export const CONFIG_SCHEMA: SchemaNode = schemaJson as SchemaNode;
