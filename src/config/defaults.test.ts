// The schema is the one source of defaults: what the concerns fall back on when built on their
// own (in their unit tests) must be what the schema resolves to, so the two cannot drift.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_LIMITS } from '../ingress/limits.ts';
import { ACCESS_FIELDS } from '../logs/access-log.ts';
import { LOGS_DEFAULTS } from '../logs/index.ts';
import { DEFAULT_LIFECYCLE } from '../supervisor/options.ts';
import { resolveConfig } from './resolve.ts';
import { ACCESS_FIELD_NAMES } from './schema.ts';

const defaults = resolveConfig({ env: { HOME: '/home/u', PILLION_CONFIG: '' }, cwd: '/' }).settings;

test('the ingress limits a concern falls back on are the schema defaults', () => {
  assert.deepEqual({ ...DEFAULT_LIMITS }, defaults.limits);
});

test('the lifecycle a supervisor falls back on is the schema defaults', () => {
  assert.deepEqual(DEFAULT_LIFECYCLE, defaults.lifecycle);
});

test('the log options a concern falls back on are the schema defaults', () => {
  assert.deepEqual(LOGS_DEFAULTS, defaults.logs);
  assert.deepEqual([...ACCESS_FIELDS], [...ACCESS_FIELD_NAMES]);
});
