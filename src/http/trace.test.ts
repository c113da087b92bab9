import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId, requestIdOf, traceparentOf, validTraceparent } from './trace.ts';

const GOOD = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a valid traceparent is passed on unchanged', () => {
  assert.equal(traceparentOf({ traceparent: GOOD }), GOOD);
});

test('an absent or invalid traceparent starts a new valid trace', () => {
  for (const bad of [
    undefined,
    'junk',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    GOOD.toUpperCase(),
  ]) {
    const made = traceparentOf(bad === undefined ? {} : { traceparent: bad });
    assert.notEqual(made, bad);
    assert.ok(validTraceparent(made), made);
    assert.match(made, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  }
  assert.notEqual(traceparentOf({}), traceparentOf({}));
});

test('a plain X-Request-Id is kept; an unsafe one is replaced by a UUID', () => {
  assert.equal(requestIdOf({ 'x-request-id': 'abc-123' }), 'abc-123');
  assert.match(requestIdOf({ 'x-request-id': 'a b\u0001' }), /^[0-9a-f-]{36}$/);
  assert.match(requestIdOf({}), /^[0-9a-f-]{36}$/);
});

test('new request ids are version-4 UUIDs, distinct across the batches they are cut from', () => {
  const seen = new Set<string>();
  // Past four batches of 256, so ids from several random draws are compared.
  for (let i = 0; i < 1100; i++) {
    const id = newRequestId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 1100);
});
