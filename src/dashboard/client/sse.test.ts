import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SseParser } from './sse.ts';

test('events split across chunks come out whole', () => {
  const p = new SseParser();
  assert.deepEqual(p.feed('data: {"a"'), []);
  assert.deepEqual(p.feed(':1}\n'), []);
  assert.deepEqual(p.feed('\ndata: two\r\ndata: lines\r\n\r\n'), [
    { event: 'message', data: '{"a":1}' },
    { event: 'message', data: 'two\nlines' },
  ]);
});

test('comments are skipped; event and id fields are kept', () => {
  const p = new SseParser();
  const out = p.feed(': keep-alive\n\nevent: log\nid: 7\ndata:x\n\n');
  assert.deepEqual(out, [{ event: 'log', data: 'x', id: '7' }]);
});

test('a CR at the end of a chunk waits for a possible LF', () => {
  const p = new SseParser();
  assert.deepEqual(p.feed('data: a\r'), []);
  assert.deepEqual(p.feed('\n\r\n'), [{ event: 'message', data: 'a' }]);
});
