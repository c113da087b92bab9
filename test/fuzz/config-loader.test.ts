// B9: the config loader, fuzzed. Random documents built from the schema's own keys (valid
// and invalid values, wrong types, unknown keys), some with random text spliced in. Property:
// a document is accepted, or rejected with a ConfigError whose every issue names
// file:line:col and a field; nothing else is ever thrown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.ts';
import { ConfigSchema } from '../../src/config/schema.ts';
import { fuzz } from './fuzz.ts';

/** Every property name the schema knows, at any depth. */
function keysOf(node: unknown, into = new Set<string>()): Set<string> {
  if (node === null || typeof node !== 'object') return into;
  const n = node as Record<string, unknown>;
  if (n.properties && typeof n.properties === 'object') {
    for (const [k, v] of Object.entries(n.properties)) {
      into.add(k);
      keysOf(v, into);
    }
  }
  for (const k of ['anyOf', 'oneOf', 'allOf', 'items', 'additionalProperties']) {
    const v = n[k];
    if (Array.isArray(v)) for (const x of v) keysOf(x, into);
    else keysOf(v, into);
  }
  return into;
}

const KEYS = [...keysOf(ConfigSchema)];
const scalar = fc.oneof(
  fc.constantFrom('127.0.0.1:0', '10s', '64KiB', 'json', 'drop', 'h2c', '${PORT}', '', '-1'),
  fc.integer({ min: -5, max: 70000 }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 12 }),
);
const tree = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('node'), {
      maxKeys: 4,
    }),
  ),
})).node;

const docArb = fc.oneof(
  tree.map((t) => stringify(t)),
  fc
    .tuple(
      tree.map((t) => stringify(t)),
      fc.nat(),
      fc.string({ unit: 'binary', maxLength: 8 }),
    )
    .map(
      ([doc, at, junk]) =>
        doc.slice(0, at % (doc.length + 1)) + junk + doc.slice(at % (doc.length + 1)),
    ),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

test('the config loader accepts a document or names file:line:col for each problem', async () => {
  await fuzz(
    'config loader',
    docArb,
    (text) => {
      try {
        parseConfig(text, 'pillion.yaml', { PORT: '8080' });
      } catch (err) {
        assert.ok(err instanceof ConfigError, `not a ConfigError: ${String(err)}`);
        assert.ok(err.issues.length > 0);
        for (const i of err.issues) {
          assert.ok(i.line >= 1 && i.col >= 1, JSON.stringify(i));
          assert.ok(i.text.startsWith(`pillion.yaml:${i.line}:${i.col}: `), i.text);
        }
      }
    },
    100,
  );
});
