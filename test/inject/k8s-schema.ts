// Offline checks of a Kubernetes object against its kind's schema: kubernetes-models' OpenAPI
// validation (types, required fields, enums), and since that lets unknown fields through,
// a check of every field name against the kubernetes-types declarations of the same API.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, Pod, Service } from 'kubernetes-models/v1';

type Obj = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: the models' constructors take their own types
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'apps/v1 StatefulSet': StatefulSet,
  'apps/v1 DaemonSet': DaemonSet,
  'apps/v1 ReplicaSet': ReplicaSet,
  'batch/v1 Job': Job,
  'batch/v1 CronJob': CronJob,
  'v1 Pod': Pod,
  'v1 Service': Service,
  'v1 ConfigMap': ConfigMap,
};

/** Interface name → field name → the interface its value is (undefined for a leaf). */
type Fields = Map<string, Map<string, string | undefined>>;

function declarations(): Fields {
  const root = dirname(createRequire(import.meta.url).resolve('kubernetes-types/package.json'));
  const out: Fields = new Map();
  for (const file of ['core/v1', 'apps/v1', 'batch/v1', 'meta/v1']) {
    const text = readFileSync(join(root, `${file}.d.ts`), 'utf8');
    for (const m of text.matchAll(/^export interface (\w+) \{\n([\s\S]*?)^\}/gm)) {
      const fields = new Map<string, string | undefined>();
      // Fields at the interface's own depth (4 spaces); a map's value type is on the next line.
      for (const f of m[2].matchAll(/^ {4}(?:readonly )?(\w+)\??: (.*?);?$/gm)) {
        const type = /^(?:Array<)?(\w+)>?$/.exec(f[2])?.[1];
        fields.set(f[1], type && /^[A-Z]/.test(type) ? type : undefined);
      }
      out.set(m[1], fields);
    }
  }
  return out;
}

let decls: Fields | undefined;

/** Field paths in `value` that the `type` interface (and those under it) does not declare. */
function unknownFields(value: unknown, type: string, path: string, out: string[]): void {
  decls ??= declarations();
  const fields = decls.get(type);
  if (!fields || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) unknownFields(v, type, `${path}[${i}]`, out);
    return;
  }
  for (const [k, v] of Object.entries(value as Obj)) {
    if (!fields.has(k)) out.push(`${path}.${k}`);
    else {
      const sub = fields.get(k);
      if (sub) unknownFields(v, sub, `${path}.${k}`, out);
    }
  }
}

/** Throws naming the object and every problem: schema errors, then unknown fields. */
export function checkObject(obj: Obj): void {
  const key = `${obj.apiVersion} ${obj.kind}`;
  const Model = MODELS[key];
  if (!Model) throw new Error(`no schema for ${key}`);
  const name = `${key} ${(obj.metadata as Obj | undefined)?.name}`;
  try {
    new Model(obj).validate();
  } catch (err) {
    throw new Error(`${name}: ${(err as Error).message}`);
  }
  const unknown: string[] = [];
  unknownFields(obj, String(obj.kind), String(obj.kind), unknown);
  if (unknown.length > 0) throw new Error(`${name}: unknown fields ${unknown.join(', ')}`);
}

/** Every object of a parsed stream, List items included. */
export function objectsOf(docs: unknown[]): Obj[] {
  return docs.flatMap((d) => {
    if (d === null || typeof d !== 'object') return [];
    const o = d as Obj;
    return o.kind === 'List' ? objectsOf(o.items as unknown[]) : [o];
  });
}
