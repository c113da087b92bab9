// The shipped manifests (deploy/), rendered the way `kubectl apply -k` would for the few
// Kustomize features they use (resources, configMapGenerator with files, images), and checked
// offline: each object against the Kubernetes OpenAPI schema of its kind (kubernetes-models),
// plus a check for fields the schema does not know, which kubernetes-models lets through.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEPLOY = join(ROOT, 'deploy');

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
export type Obj = Record<string, any>;

export interface Rendered {
  /** The objects, each with the file it came from. */
  objects: { obj: Obj; file: string }[];
}

/** Every YAML document of a file, failing on a YAML error with file:line:col. */
export function readYaml(file: string): Obj[] {
  const text = readFileSync(file, 'utf8');
  return parseAllDocuments(text).map((doc) => {
    const err = doc.errors[0];
    if (err) {
      const [line, col] = err.linePos?.[0] ? [err.linePos[0].line, err.linePos[0].col] : [0, 0];
      throw new Error(`${relative(ROOT, file)}:${line}:${col}: ${err.message}`);
    }
    return doc.toJS() as Obj;
  });
}

const KUSTOMIZATION_KEYS = new Set([
  'apiVersion',
  'kind',
  'resources',
  'configMapGenerator',
  'images',
]);

/** Renders deploy/<dir>/kustomization.yaml; anything it does not implement is an error. */
export function renderKustomization(dir: string): Rendered {
  const file = join(dir, 'kustomization.yaml');
  const [k] = readYaml(file);
  const where = relative(ROOT, file);
  if (k.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || k.kind !== 'Kustomization')
    throw new Error(`${where}: not a kustomize.config.k8s.io/v1beta1 Kustomization`);
  for (const key of Object.keys(k))
    if (!KUSTOMIZATION_KEYS.has(key))
      throw new Error(`${where}: ${key} is not rendered by this test`);
  const objects: Rendered['objects'] = [];
  for (const r of (k.resources ?? []) as string[]) {
    const path = join(dir, r);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path).objects);
    else for (const obj of readYaml(path)) objects.push({ obj, file: relative(ROOT, path) });
  }
  for (const g of (k.configMapGenerator ?? []) as Obj[]) {
    const data: Record<string, string> = {};
    for (const f of g.files as string[]) data[basename(f)] = readFileSync(join(dir, f), 'utf8');
    if (g.options?.disableNameSuffixHash !== true)
      throw new Error(`${where}: ${g.name}: hashed names are not rendered by this test`);
    const metadata: Obj = { name: g.name };
    if (g.options?.labels) metadata.labels = g.options.labels;
    objects.push({ obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata, data }, file: where });
  }
  for (const img of (k.images ?? []) as Obj[]) {
    for (const { obj } of objects) {
      for (const c of podContainers(obj)) {
        const [name, tag] = String(c.image).split(':');
        if (name === img.name) c.image = `${img.newName ?? name}:${img.newTag ?? tag}`;
      }
    }
  }
  return { objects };
}

/** The pod spec of a workload (Deployment, Job, Pod, …), if it has one. */
export function podSpec(obj: Obj): Obj | undefined {
  if (obj.kind === 'Pod') return obj.spec;
  if (obj.kind === 'CronJob') return obj.spec?.jobTemplate?.spec?.template?.spec;
  return obj.spec?.template?.spec;
}

export function podContainers(obj: Obj): Obj[] {
  const spec = podSpec(obj);
  return spec ? [...(spec.initContainers ?? []), ...(spec.containers ?? [])] : [];
}

interface Validator {
  (data: unknown): boolean;
  errors?: { instancePath: string; message?: string; keyword: string }[] | null;
}

/** The compiled OpenAPI validator of a kind, e.g. apps/v1 Deployment → IoK8sApiAppsV1Deployment. */
export async function validatorFor(
  apiVersion: string,
  kind: string,
): Promise<Validator | undefined> {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const g = group.split('.')[0];
  if (group.includes('.') && !group.endsWith('.k8s.io')) return undefined; // a CRD
  const name = `IoK8sApi${g[0].toUpperCase()}${g.slice(1)}${version[0].toUpperCase()}${version.slice(1)}${kind}`;
  try {
    const mod = (await import(`kubernetes-models/_schemas/${name}`)) as { validate: Validator };
    return mod.validate;
  } catch {
    return undefined;
  }
}

const pointer = (path: string[]): string =>
  path.map((p) => `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/** Schema errors of one object, as `path: message` lines. */
export function schemaErrors(obj: Obj, validate: Validator): string[] {
  if (validate(obj)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
}

/**
 * Fields the schema does not know. kubernetes-models validates without
 * additionalProperties: false, so a misspelt field passes. Each field is probed: its value is
 * replaced by one no schema type accepts (a symbol); a field the schema knows then fails at
 * its own path, one it does not know changes nothing.
 */
export function unknownFields(obj: Obj, validate: Validator): string[] {
  const unknown: string[] = [];
  const knows = (path: string[]): boolean => {
    const probe = structuredClone(obj);
    let at: Obj = probe;
    for (const p of path.slice(0, -1)) at = at[p];
    at[path[path.length - 1]] = Symbol('probe');
    validate(probe);
    const ptr = pointer(path);
    return (validate.errors ?? []).some(
      (e) => e.instancePath === ptr || e.instancePath.startsWith(`${ptr}/`),
    );
  };
  const walk = (node: unknown, path: string[]): void => {
    if (Array.isArray(node)) {
      for (const [i, v] of node.entries()) walk(v, [...path, String(i)]);
    } else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        const p = [...path, k];
        if (knows(p)) walk(v, p);
        else unknown.push(p.join('.'));
      }
    }
  };
  walk(obj, []);
  return unknown;
}

/** Every directory under deploy/ with a kustomization.yaml. */
export function kustomizations(): string[] {
  return readdirSync(DEPLOY, { recursive: true, encoding: 'utf8' })
    .filter((f) => basename(f) === 'kustomization.yaml')
    .map((f) => join(DEPLOY, dirname(f)))
    .sort();
}

/** Every YAML file under deploy/. */
export function yamlFiles(): string[] {
  return readdirSync(DEPLOY, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(DEPLOY, f))
    .sort();
}

export const nameOf = (obj: Obj): string => `${obj.kind}/${obj.metadata?.name}`;
