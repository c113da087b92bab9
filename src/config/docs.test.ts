import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigDocs } from './docs.ts';

test('docs/config.md matches the schema (run `npm run docs:config` after a schema change)', () => {
  const onDisk = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
  assert.equal(onDisk, renderConfigDocs());
});

test('every field of the schema has a row with a description', () => {
  const doc = renderConfigDocs();
  for (const field of [
    'app.command',
    'app.secrets.NAME.file',
    'ingress.tls.cert',
    'drain.timeout',
    'state_dir',
    'egress',
  ]) {
    assert.match(doc, new RegExp(`\\| \`${field.replaceAll('.', '\\.')}\``), field);
  }
  for (const line of doc.split('\n').filter((l) => l.startsWith('| `'))) {
    const desc = line.split(' | ').at(-1) ?? '';
    assert.ok(desc.length > 3, `no description: ${line}`);
  }
});
