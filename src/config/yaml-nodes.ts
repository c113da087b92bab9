// What the config walk needs of yaml's node tree, without loading yaml: its node identity (the
// `Symbol.for` tags yaml puts on every node, so the checks hold for yaml's own nodes too), and a
// document made by flags alone. With no config file `pillion run` never loads yaml, about
// 40-80 ms of a start on a busy machine (72 modules; bench/startup.ts). yaml-nodes.test.ts holds
// this document to what yaml's own `new Document({})` does with the same flags.
import type { Document, Node, Pair, Scalar, YAMLMap, YAMLSeq } from 'yaml';

const NODE_TYPE = Symbol.for('yaml.node.type');
const ALIAS = Symbol.for('yaml.alias');
const MAP = Symbol.for('yaml.map');
const PAIR = Symbol.for('yaml.pair');
const SCALAR = Symbol.for('yaml.scalar');
const SEQ = Symbol.for('yaml.seq');

const tagged = (node: unknown, tag: symbol): boolean =>
  typeof node === 'object' && node !== null && (node as Record<symbol, unknown>)[NODE_TYPE] === tag;

export const isAlias = (n: unknown): n is Node & { resolve(doc: Document): Node | undefined } =>
  tagged(n, ALIAS);
export const isMap = (n: unknown): n is YAMLMap => tagged(n, MAP);
export const isSeq = (n: unknown): n is YAMLSeq => tagged(n, SEQ);
export const isScalar = (n: unknown): n is Scalar => tagged(n, SCALAR);
export const isCollection = (n: unknown): n is YAMLMap | YAMLSeq => isMap(n) || isSeq(n);

/** Calls `fn` on a node and every node under it (pairs, keys and values). */
export function eachNode(node: unknown, fn: (n: Node | Pair) => void): void {
  if (typeof node !== 'object' || node === null) return;
  fn(node as Node);
  if (isMap(node)) {
    for (const pair of node.items) {
      fn(pair as Pair);
      eachNode(pair.key, fn);
      eachNode(pair.value, fn);
    }
  } else if (isSeq(node)) for (const item of node.items) eachNode(item, fn);
}

type Key = string | number;

class FlagScalar {
  readonly [NODE_TYPE] = SCALAR;
  value: unknown;
  range: undefined;
  constructor(value: unknown) {
    this.value = value;
  }
}

class FlagPair {
  readonly [NODE_TYPE] = PAIR;
  key: unknown;
  value: unknown;
  constructor(key: unknown, value: unknown) {
    this.key = key;
    this.value = value;
  }
}

/** A key as yaml's maps match it: a plain key, or a scalar key's value. */
const keyOf = (k: unknown): unknown => (isScalar(k) ? k.value : k);

class FlagMap {
  readonly [NODE_TYPE] = MAP;
  readonly items: FlagPair[] = [];
  range: undefined;
  #find(key: Key): FlagPair | undefined {
    return this.items.find((p) => keyOf(p.key) === key);
  }
  get(key: Key): unknown {
    return this.#find(key)?.value;
  }
  has(key: Key): boolean {
    return this.#find(key) !== undefined;
  }
  /** As yaml's YAMLMap.set: an existing pair keeps its key and takes the value; else appended. */
  set(key: Key, value: unknown): void {
    const p = this.#find(key);
    if (p) p.value = value;
    else this.items.push(new FlagPair(key, value));
  }
  delete(key: Key): void {
    const i = this.items.findIndex((p) => keyOf(p.key) === key);
    if (i !== -1) this.items.splice(i, 1);
  }
}

class FlagSeq {
  readonly [NODE_TYPE] = SEQ;
  readonly items: unknown[];
  range: undefined;
  constructor(items: unknown[]) {
    this.items = items;
  }
  get(key: Key): unknown {
    return typeof key === 'number' ? this.items[key] : undefined;
  }
}

/** A plain value as nodes, the way yaml's `createNode` builds them (keys as scalars). */
function createNode(value: unknown): unknown {
  if (Array.isArray(value)) return new FlagSeq(value.map(createNode));
  if (typeof value === 'object' && value !== null) {
    const m = new FlagMap();
    for (const [k, v] of Object.entries(value))
      m.items.push(new FlagPair(createNode(k), createNode(v)));
    return m;
  }
  return new FlagScalar(value);
}

/** The collection at `path` under `m`, or undefined. */
function collectionAt(m: unknown, path: readonly Key[]): FlagMap | FlagSeq | undefined {
  let n = m;
  for (const k of path) n = n instanceof FlagMap || n instanceof FlagSeq ? n.get(k) : undefined;
  return n instanceof FlagMap || n instanceof FlagSeq ? n : undefined;
}

/**
 * The part of yaml's Document that config/flags.ts and config/load.ts use, for a config made by
 * flags alone: an empty map that flags are set into, as into `new Document({})`.
 */
class FlagDocument {
  contents: unknown = new FlagMap();
  readonly errors: never[] = [];
  createNode(value: unknown): unknown {
    return createNode(value);
  }
  getIn(path: readonly Key[]): unknown {
    if (path.length === 0) return this.contents;
    const parent = collectionAt(this.contents, path.slice(0, -1));
    return parent?.get(path[path.length - 1]);
  }
  hasIn(path: readonly Key[]): boolean {
    return this.getIn(path) !== undefined;
  }
  deleteIn(path: readonly Key[]): void {
    const parent = collectionAt(this.contents, path.slice(0, -1));
    if (parent instanceof FlagMap) parent.delete(path[path.length - 1]);
  }
  /**
   * As yaml's setIn: missing maps on the way are made (the first missing key plain, deeper
   * ones as scalar keys, as yaml's collectionFromPath does), and anything else on the way throws.
   */
  setIn(path: readonly Key[], value: unknown): void {
    let m = this.contents;
    for (let i = 0; i < path.length - 1; i++) {
      if (!(m instanceof FlagMap)) throw new Error(`Expected YAML collection at ${path[i]}`);
      const next = m.get(path[i]);
      if (next === undefined) {
        let v = value;
        for (let j = path.length - 1; j > i; j--) {
          const c = new FlagMap();
          c.items.push(new FlagPair(new FlagScalar(path[j]), v));
          v = c;
        }
        m.set(path[i], v);
        return;
      }
      m = next;
    }
    if (!(m instanceof FlagMap)) throw new Error(`Expected YAML collection at ${path.at(-2)}`);
    m.set(path[path.length - 1], value);
  }
}

/** A document for a config made by flags alone, in place of yaml's `new Document({})`. */
export function flagDocument(): Document {
  return new FlagDocument() as unknown as Document;
}
