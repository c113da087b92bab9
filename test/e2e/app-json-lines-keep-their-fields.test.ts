import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPillion } from './harness.ts';

// An app that logs the way real ones do: pino-style JSON, prefixed text, a stack trace.
const APP = `
const w = (fd, s) => require('node:fs').writeSync(fd, s + '\\n');
w(1, JSON.stringify({ level: 30, time: 1764151200000, pid: 1, hostname: 'h', msg: 'listening', port: 8080 }));
w(1, JSON.stringify({ level: 'warning', message: 'slow query', ms: 812, sql: { table: 'orders' } }));
w(2, 'INFO:root:started on stderr');
w(2, 'Error: boom');
w(2, '    at main (app.js:1:1)');
w(2, '    at run (app.js:2:2)');
w(1, '[debug] cache warm');
`;

test('JSON app lines keep their fields; levels come from fields and prefixes; traces are joined', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--log-multiline',
    '300ms',
    '--',
    process.execPath,
    '-e',
    APP,
  ]);
  t.after(() => p.kill());
  assert.equal(await p.exited, 0, p.stderr());
  const app = p.lines.filter((l) => l.source === 'app');
  const byMsg = new Map(app.map((l) => [l.msg, l]));
  const listening = byMsg.get('listening');
  assert.ok(listening);
  assert.equal(listening.level, 'info');
  assert.equal(listening.port, 8080);
  assert.equal(listening.app_time, 1764151200000);
  assert.equal(listening.app_pid, 1);
  assert.notEqual(listening.pid, 1);
  const slow = byMsg.get('slow query');
  assert.ok(slow);
  assert.equal(slow.level, 'warn');
  assert.deepEqual(slow.sql, { table: 'orders' });
  assert.equal(byMsg.get('INFO:root:started on stderr')?.level, 'info');
  const trace = byMsg.get('Error: boom\n    at main (app.js:1:1)\n    at run (app.js:2:2)');
  assert.ok(trace, JSON.stringify(app.map((l) => l.msg)));
  assert.equal(trace.level, 'error');
  assert.equal(byMsg.get('[debug] cache warm')?.level, 'debug');
  assert.equal(app.length, 5);
});

test('--log-format human prints lines for people', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--log-format',
    'human',
    '--',
    process.execPath,
    '-e',
    "console.log('hello human')",
  ]);
  t.after(() => p.kill());
  assert.equal(await p.exited, 0, p.stderr());
  // Not JSON: the harness keeps such lines as they are.
  const text = p.lines.map((l) => l.msg);
  const hello = text.find((m) => m.includes('app[stdout] hello human'));
  assert.ok(hello);
  // No colour codes: stdout is a pipe here, not a terminal.
  assert.match(hello, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}app\[stdout\] hello human pid=\d+$/);
  assert.ok(p.lines.every((l) => l.source === 'non-json'));
});

test('a log file that cannot be opened stops Pillion before the app starts', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--log-file',
    '/nonexistent/dir/p.log',
    '--',
    'true',
  ]);
  t.after(() => p.kill());
  assert.equal(await p.exited, 1);
  const err = p.lines.find((l) => l.code === 'PILLION_LOG_FILE_UNWRITABLE');
  assert.ok(err);
  assert.match(err.msg, /\/nonexistent\/dir\/p\.log/);
  assert.ok(!p.lines.some((l) => l.msg === 'app started'));
});
