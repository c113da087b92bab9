import assert from 'node:assert/strict';
import { test } from 'node:test';
import { traceOf } from './trace-context.ts';

const GIVEN = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test("a valid traceparent is continued: same trace, the client's span as parent, a new span", () => {
  const t = traceOf(GIVEN, 'congo=t61rcWkgMzE');
  assert.equal(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(t.parentSpanId, '00f067aa0ba902b7');
  assert.match(t.spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(t.spanId, t.parentSpanId);
  assert.equal(t.header, `00-4bf92f3577b34da6a3ce929d0e0e4736-${t.spanId}-01`);
  assert.equal(t.tracestate, 'congo=t61rcWkgMzE');
  // The flags are kept: an unsampled trace stays unsampled.
  assert.match(traceOf(GIVEN.replace(/01$/, '00'), undefined).header, /-00$/);
});

test('an absent or invalid traceparent starts a new trace, and its tracestate is dropped', () => {
  const bad = [
    undefined,
    '',
    'garbage',
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    `${GIVEN}-extra`,
  ];
  const ids = new Set<string>();
  for (const v of bad) {
    const t = traceOf(v, 'congo=t61rcWkgMzE');
    assert.equal(t.parentSpanId, undefined, String(v));
    assert.equal(t.tracestate, undefined);
    assert.match(t.header, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.notEqual(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    ids.add(t.traceId);
  }
  assert.equal(ids.size, bad.length, 'each new trace has its own id');
  // A later version with more fields is read as version 00 (§4.3).
  assert.equal(
    traceOf(`01-${GIVEN.slice(3)}-what-comes-next`, undefined).parentSpanId,
    '00f067aa0ba902b7',
  );
});
