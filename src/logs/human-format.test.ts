import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HumanFormat, humanLine } from './human-format.ts';

test('humanLine renders time, level, source, message and fields', () => {
  const json = JSON.stringify({
    time: '2026-11-26T10:55:50.543Z',
    level: 'warn',
    source: 'app',
    stream: 'stderr',
    pid: 7,
    msg: 'disk low',
    free: 12,
    who: 'a b',
  });
  assert.equal(
    humanLine(json, false),
    '10:55:50.543 WARN  app[stderr] disk low pid=7 free=12 who="a b"',
  );
  const coloured = humanLine(json, true);
  assert.ok(coloured.includes('\x1b[33mWARN '));
  assert.equal(
    humanLine('127.0.0.1 - - [x] "GET /" 200 1', true),
    '127.0.0.1 - - [x] "GET /" 200 1',
  );
});

test('HumanFormat turns a stream of JSON lines into lines for people', async () => {
  const f = new HumanFormat(false);
  let out = '';
  f.on('data', (c) => {
    out += c;
  });
  f.write('{"time":"2026-11-26T10:00:00.000Z","level":"info","source":"pillion","msg":"a"}\n');
  f.write(
    '{"time":"2026-11-26T10:00:01.000Z","level":"error","source":"access","msg":"b"}\nnot json\n',
  );
  f.end();
  await new Promise((r) => f.on('end', r));
  assert.equal(out, '10:00:00.000 INFO  pillion a\n10:00:01.000 ERROR access b\nnot json\n');
});

test("humanLine leaves out Pillion's own pid, keeps the app's", () => {
  const own =
    '{"time":"2026-11-26T10:00:00.000Z","level":"info","source":"ingress","pid":1,"msg":"up","port":8443}';
  assert.equal(humanLine(own, false), '10:00:00.000 INFO  ingress up port=8443');
});
