// `pillion inject`: adds the Pillion sidecar (sidecar.ts) to every pod template in a set of
// manifests. Edits go through yaml's Document API, and a document left unchanged is written
// back byte for byte, so comments, key order and every other document stay as they were.
import { type Document, isMap, isScalar, isSeq, parseAllDocuments, type YAMLMap } from 'yaml';
import { ErrorCode, PillionError } from '../core/errors.ts';
import {
  CONFIG_VOLUME,
  HTTPS_PORT,
  PROBE_PORT,
  pillionContainer,
  pillionVolumes,
  SIDECAR_NAME,
  STATE_VOLUME,
} from './sidecar.ts';

export interface InjectOptions {
  image: string;
  /** The app's port; else the app container's containerPort. */
  appPort?: number;
  configMap: string;
  /** Point Services that select an injected pod at Pillion's HTTPS port instead of the app's. */
  retargetServices: boolean;
  /** Classic sidecar (a plain container) for clusters before 1.29; Jobs keep the native form. */
  classic: boolean;
}

export interface Input {
  /** Shown in errors: a file path, or `(stdin)`. */
  source: string;
  text: string;
}

export interface Output extends Input {
  /** What was done, one line per object: `Deployment web: injected (app port 8080)`. */
  changes: string[];
}

/** Where the pod spec sits in each kind that has one. */
const POD_SPEC: Record<string, string[]> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};
/** Kinds whose pods must end: the native form lets them complete with Pillion beside the app. */
const RUN_TO_COMPLETION = new Set(['Job', 'CronJob']);

/** A pod that got Pillion: what a Service must select, and the app port it may target. */
interface InjectedPod {
  namespace: unknown;
  labels: Record<string, unknown>;
  appPort: number;
  appPortName: string | undefined;
}

/** One object being looked at, for errors: `pillion.yaml: document 2 (Deployment web)`. */
interface Where {
  source: string;
  label: string;
}

function fail(at: Where, what: string): never {
  throw new PillionError(ErrorCode.INJECT_INVALID, `${at.source}: ${at.label}: ${what}`);
}

/**
 * Injects every input; throws a PillionError naming the file, document and object on the
 * first problem, having changed nothing (the caller writes only what this returns).
 */
export function inject(inputs: readonly Input[], opts: InjectOptions): Output[] {
  const parsed = inputs.map((input) => ({ input, docs: parse(input) }));
  const pods: InjectedPod[] = [];
  const changed = new Set<Document>();
  const changes = new Map<Input, string[]>();
  for (const { input, docs } of parsed) {
    const log: string[] = [];
    changes.set(input, log);
    docs.forEach((doc, i) => {
      const at = { source: input.source, label: `document ${i + 1}` };
      forEachObject(doc.contents, at, (obj, where) => {
        const r = injectObject(doc, obj, where, opts);
        if (!r) return;
        if (r.pod) {
          pods.push(r.pod);
          changed.add(doc);
        }
        log.push(`${where.name}: ${r.said}`);
      });
    });
  }
  if (opts.retargetServices) {
    for (const { input, docs } of parsed) {
      docs.forEach((doc, i) => {
        const at = { source: input.source, label: `document ${i + 1}` };
        forEachObject(doc.contents, at, (obj, where) => {
          if (obj.get('kind') !== 'Service') return;
          const ports = retarget(obj, pods);
          if (ports.length === 0) return;
          changed.add(doc);
          changes.get(input)?.push(`${where.name}: port ${ports.join(', ')} now targets https`);
        });
      });
    }
  }
  return parsed.map(({ input, docs }) => ({
    source: input.source,
    text: render(input.text, docs, changed),
    changes: changes.get(input) ?? [],
  }));
}

function parse(input: Input): Document[] {
  const docs = parseAllDocuments(input.text, { prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(docs)) return [];
  docs.forEach((doc, i) => {
    const e = doc.errors[0];
    if (e) {
      const line = input.text.slice(0, e.pos[0]).split('\n').length;
      fail(
        { source: input.source, label: `document ${i + 1}` },
        `YAML syntax error at line ${line} (${e.code}); nothing was changed`,
      );
    }
  });
  return docs;
}

/** Each Kubernetes object in a document: the document's own, or each item of a List. */
function forEachObject(
  node: unknown,
  at: Where,
  fn: (obj: YAMLMap, where: Where & { name: string }) => void,
): void {
  // An empty document (Helm writes them) or one of comments only.
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
  if (!isMap(node)) fail(at, 'is not a Kubernetes object (a map with apiVersion and kind)');
  const kind = node.get('kind');
  if (typeof kind !== 'string') fail(at, 'has no kind');
  const name = node.getIn(['metadata', 'name']);
  const here = { ...at, label: `${at.label} (${kind}${name ? ` ${name}` : ''})` };
  if (kind === 'List' || (kind.endsWith('List') && node.has('items'))) {
    const items = node.get('items', true);
    if (items === undefined || items === null) return;
    if (!isSeq(items)) fail(here, 'items is not a list');
    items.items.forEach((item, j) => {
      forEachObject(item, { source: at.source, label: `${here.label} item ${j + 1}` }, fn);
    });
    return;
  }
  fn(node, { ...here, name: `${kind}${name ? ` ${name}` : ''}` });
}

const ports = (c: YAMLMap): YAMLMap[] => {
  const p = c.get('ports', true);
  return isSeq(p) ? (p.items.filter((x) => isMap(x)) as YAMLMap[]) : [];
};

/** Adds the sidecar to an object's pod template; undefined for kinds without one. */
function injectObject(
  doc: Document,
  obj: YAMLMap,
  at: Where,
  opts: InjectOptions,
): { pod?: InjectedPod; said: string } | undefined {
  const kind = obj.get('kind') as string;
  const path = POD_SPEC[kind];
  if (!path) return undefined;
  const spec = obj.getIn(path, true);
  if (!isMap(spec)) fail(at, `${path.join('.')} is missing or not a map`);
  const containers = spec.get('containers', true);
  if (!isSeq(containers) || containers.items.length === 0 || !containers.items.every(isMap))
    fail(at, `${path.join('.')}.containers must be a list of containers`);
  const inits = spec.get('initContainers', true);
  if (inits !== undefined && inits !== null && !isSeq(inits))
    fail(at, `${path.join('.')}.initContainers is not a list`);
  const all = [...(containers.items as YAMLMap[]), ...((inits?.items ?? []) as YAMLMap[])];
  // Injected already: left exactly as it is, so inject can run again on its own output.
  if (all.some((c) => isMap(c) && c.get('name') === SIDECAR_NAME))
    return { said: 'has Pillion already; unchanged' };
  const meta =
    path.length > 1
      ? obj.getIn([...path.slice(0, -1), 'metadata'], true)
      : obj.get('metadata', true);
  const annotations = isMap(meta) ? meta.get('annotations', true) : undefined;
  const wanted = isMap(annotations)
    ? annotations.get('kubectl.kubernetes.io/default-container')
    : undefined;
  const apps = containers.items as YAMLMap[];
  const app = apps.find((c) => c.get('name') === wanted) ?? apps[0];
  const appName = String(app.get('name'));
  const { port: appPort, name: appPortName } = appPortOf(app, appName, at, opts.appPort);
  for (const c of all) {
    for (const p of ports(c)) {
      const n = Number(p.get('containerPort'));
      if (n === HTTPS_PORT || n === PROBE_PORT)
        fail(at, `container '${c.get('name')}' uses port ${n}, which Pillion needs in the pod`);
    }
  }
  if (appPort === HTTPS_PORT || appPort === PROBE_PORT)
    fail(at, `the app port ${appPort} is one Pillion needs in the pod; move the app`);
  const volumes = spec.get('volumes', true);
  if (volumes !== undefined && volumes !== null && !isSeq(volumes))
    fail(at, `${path.join('.')}.volumes is not a list`);
  for (const v of (volumes?.items ?? []) as YAMLMap[]) {
    const n = isMap(v) ? v.get('name') : undefined;
    if (n === STATE_VOLUME || n === CONFIG_VOLUME) fail(at, `a volume is named '${n}' already`);
  }
  const native = !opts.classic || RUN_TO_COMPLETION.has(kind);
  const container = pillionContainer({
    image: opts.image,
    appPort,
    configMap: opts.configMap,
    native,
  });
  appendTo(doc, spec, native ? 'initContainers' : 'containers', [doc.createNode(container)]);
  appendTo(
    doc,
    spec,
    'volumes',
    pillionVolumes(opts).map((v) => doc.createNode(v)),
  );
  const labelsNode = isMap(meta) ? meta.get('labels', true) : undefined;
  const labels = isMap(labelsNode) ? (labelsNode.toJSON() as Record<string, unknown>) : {};
  return {
    pod: { namespace: obj.getIn(['metadata', 'namespace']), labels, appPort, appPortName },
    said: `injected (${native ? 'native' : 'classic'} sidecar, app port ${appPort} of '${appName}')`,
  };
}

/** The app's port: given, else the app container's only containerPort, or its one named http. */
function appPortOf(
  app: YAMLMap,
  appName: string,
  at: Where,
  given: number | undefined,
): { port: number; name: string | undefined } {
  const list = ports(app);
  if (given !== undefined) {
    const named = list.find((p) => Number(p.get('containerPort')) === given)?.get('name');
    return { port: given, name: typeof named === 'string' ? named : undefined };
  }
  const pick = list.length === 1 ? list[0] : list.find((p) => p.get('name') === 'http');
  const n = Number(pick?.get('containerPort'));
  if (!pick || !Number.isInteger(n) || n < 1 || n > 65535) {
    fail(
      at,
      list.length === 0
        ? `container '${appName}' declares no containerPort; give the app's port with --app-port`
        : `container '${appName}' declares ${list.length} ports and none is named http; give the app's port with --app-port`,
    );
  }
  const name = pick.get('name');
  return { port: n, name: typeof name === 'string' ? name : undefined };
}

/** Appends items to the list at `key`, making the list when it is missing. */
function appendTo(doc: Document, map: YAMLMap, key: string, items: unknown[]): void {
  const list = map.get(key, true);
  if (isSeq(list)) for (const it of items) list.add(it);
  else map.set(key, doc.createNode(items));
}

/** Service ports that target an injected pod's app port now target Pillion's `https`. */
function retarget(svc: YAMLMap, pods: readonly InjectedPod[]): string[] {
  const selector = svc.getIn(['spec', 'selector'], true);
  if (!isMap(selector) || selector.items.length === 0) return [];
  const sel = selector.toJSON() as Record<string, unknown>;
  const ns = svc.getIn(['metadata', 'namespace']);
  const done: string[] = [];
  for (const pod of pods) {
    if ((pod.namespace ?? undefined) !== (ns ?? undefined)) continue;
    if (!Object.entries(sel).every(([k, v]) => pod.labels[k] === v)) continue;
    const list = svc.getIn(['spec', 'ports'], true);
    if (!isSeq(list)) continue;
    for (const p of list.items) {
      if (!isMap(p)) continue;
      const target = p.get('targetPort') ?? p.get('port');
      const hit =
        Number(target) === pod.appPort ||
        (pod.appPortName !== undefined && target === pod.appPortName);
      if (!hit) continue;
      p.set('targetPort', 'https');
      done.push(String(p.get('name') ?? p.get('port')));
    }
  }
  return done;
}

/**
 * The text again: each document that was not changed exactly as it was read, each changed one
 * written by yaml (its comments and key order kept), in the sequence style the file uses.
 */
function render(text: string, docs: Document[], changed: ReadonlySet<Document>): string {
  if (!docs.some((d) => changed.has(d))) return text;
  let out = '';
  docs.forEach((doc, i) => {
    const start = i === 0 ? 0 : (doc.range?.[0] ?? 0);
    const end = i + 1 < docs.length ? (docs[i + 1].range?.[0] ?? text.length) : text.length;
    const src = text.slice(start, end);
    if (!changed.has(doc)) {
      out += src;
      return;
    }
    // `key:\n- item` (kubectl's style) rather than `key:\n  - item` (yaml's default).
    const flatSeq = /^( *)[^\s#-][^\n]*:\n\1- /m.test(src);
    let s = doc.toString({ lineWidth: 0, indentSeq: !flatSeq, flowCollectionPadding: false });
    if (!s.endsWith('\n')) s += '\n';
    out += s;
  });
  return out;
}
