// The schema is the one source of defaults: what the concerns fall back on when built on their
// own (in their unit tests) must be what the schema resolves to, so the two cannot drift.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCESS_FIELDS, DEFAULT_ACCESS_FIELDS } from '../core/access-fields.ts';
import { DEFAULT_LIMITS } from '../ingress/limits.ts';
import { LOGS_DEFAULTS } from '../logs/index.ts';
import { DEFAULT_LIFECYCLE } from '../supervisor/options.ts';
import { resolveConfig } from './resolve.ts';
import { schemaAt } from './schema-json.ts';

const defaults = resolveConfig({ env: { HOME: '/home/u', PILLION_CONFIG: '' }, cwd: '/' }).settings;

test('the ingress limits a concern falls back on are the schema defaults', () => {
  assert.deepEqual({ ...DEFAULT_LIMITS }, defaults.limits);
});

test('the lifecycle a supervisor falls back on is the schema defaults', () => {
  assert.deepEqual(DEFAULT_LIFECYCLE, defaults.lifecycle);
});

test('the log options a concern falls back on are the schema defaults', () => {
  assert.deepEqual(LOGS_DEFAULTS, defaults.logs);
});

test('the access fields the schema admits and defaults to are the one list in core/', () => {
  const s = schemaAt('logs.access.fields');
  assert.deepEqual(
    s?.items?.anyOf?.map((b) => b.const),
    [...ACCESS_FIELDS],
  );
  assert.deepEqual(s?.default, [...DEFAULT_ACCESS_FIELDS]);
  assert.deepEqual(defaults.logs.access.fields, [...DEFAULT_ACCESS_FIELDS]);
});
