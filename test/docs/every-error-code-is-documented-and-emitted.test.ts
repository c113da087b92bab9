// docs/errors.md lists every error code (STYLE.md): a code Pillion emits but the page lacks,
// or a listed code nothing emits, fails here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '../../src/core/errors.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The sources that ship: every .ts under src/ but the tests. */
function sources(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * Codes the sources emit: `ErrorCode.NAME` uses, and `'PILLION_…'` literals given as a `code`
 * (`code: e.code ?? 'PILLION_INTERNAL'`); other such names are environment variables.
 */
function emitted(): Map<string, string[]> {
  const byValue = new Map(Object.entries(ErrorCode));
  const found = new Map<string, string[]>();
  const add = (code: string, file: string): void => {
    found.set(code, [...(found.get(code) ?? []), file.slice(ROOT.length)]);
  };
  for (const file of sources()) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bErrorCode\.([A-Z0-9_]+)/g)) {
      const value = byValue.get(m[1]);
      assert.ok(value, `${file}: ErrorCode.${m[1]} is not defined`);
      add(value, file);
    }
    if (file.endsWith(join('core', 'errors.ts'))) continue; // the definitions themselves
    for (const m of text.matchAll(/\bcode\b[^\n]{0,40}?['"`](PILLION_[A-Z0-9_]+)['"`]/g)) {
      add(m[1], file);
    }
  }
  return found;
}

/** Codes docs/errors.md lists: the first cell of a table row. */
function documented(): Set<string> {
  const text = readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8');
  const codes = new Set<string>();
  for (const line of text.split('\n')) {
    const cell = /^\|\s*`(PILLION_[A-Z0-9_]+)`/.exec(line);
    if (cell) codes.add(cell[1]);
  }
  return codes;
}

test('every error code Pillion emits is listed in docs/errors.md', () => {
  const docs = documented();
  const missing = [...emitted()].filter(([code]) => !docs.has(code));
  assert.deepEqual(
    missing.map(([code, files]) => `${code} (${[...new Set(files)].join(', ')})`),
    [],
  );
});

test('every code docs/errors.md lists is emitted somewhere in src/', () => {
  const used = emitted();
  assert.deepEqual(
    [...documented()].filter((c) => !used.has(c)),
    [],
  );
});

test('every ErrorCode is listed in docs/errors.md', () => {
  const docs = documented();
  assert.deepEqual(
    Object.values(ErrorCode).filter((c) => !docs.has(c)),
    [],
  );
  // The scans see what they should: every defined code and more than half of them in use.
  assert.ok(docs.size >= Object.keys(ErrorCode).length);
  assert.ok(emitted().size > Object.keys(ErrorCode).length / 2);
});
