import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { LogOutput } from '../core/log.ts';
import { captureAppStream, MAX_LINE_BYTES } from './app-log.ts';

interface AppLine {
  time: string;
  level: string;
  source: string;
  stream: string;
  pid: number;
  msg: string;
  split?: true;
  partial?: true;
}

interface Collector {
  dest: Writable;
  out: LogOutput;
  /** Everything written so far, once the destination has taken it all. */
  text: () => Promise<string>;
}

/** A LogOutput whose destination keeps every chunk, calling back on the next turn. */
function collector(highWaterMark = 16 * 1024): Collector {
  const chunks: Buffer[] = [];
  const dest = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      setImmediate(cb);
    },
  });
  const out = new LogOutput(dest);
  const text = async (): Promise<string> => {
    await out.flush();
    return Buffer.concat(chunks).toString('utf8');
  };
  return { dest, out, text };
}

/** Every output line parsed; asserts the output is whole JSON lines. */
function parse(text: string): AppLine[] {
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), 'output ends in a newline');
  return text
    .slice(0, -1)
    .split('\n')
    .map((l) => JSON.parse(l) as AppLine);
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('captureAppStream', () => {
  test('writes one JSON line per app line, with stdout as info', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stdout', 4242, out);
    src.write('hello\nwor');
    src.end('ld\n');
    await done;

    const lines = parse(await text());
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(line.time, ISO_TIME);
      assert.ok(!Number.isNaN(Date.parse(line.time)));
      assert.deepEqual(Object.keys(line), ['time', 'level', 'source', 'stream', 'pid', 'msg']);
    }
    assert.deepEqual(
      lines.map(({ time: _, ...rest }) => rest),
      [
        { level: 'info', source: 'app', stream: 'stdout', pid: 4242, msg: 'hello' },
        { level: 'info', source: 'app', stream: 'stdout', pid: 4242, msg: 'world' },
      ],
    );
  });

  test('labels a stderr line info unless it says its level; the stream stays', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stderr', 7, out);
    // What python3 -m http.server writes to stderr for every request, then real levels.
    src.end(
      '127.0.0.1 - - [26/Nov/2026 10:00:00] "GET / HTTP/1.1" 200 -\nERROR: boom\nWARNING:root:low\n{"level":"error","msg":"json boom"}\n',
    );
    await done;
    const lines = parse(await text());
    assert.deepEqual(
      lines.map((l) => [l.level, l.stream]),
      [
        ['info', 'stderr'],
        ['error', 'stderr'],
        ['warn', 'stderr'],
        ['error', 'stderr'],
      ],
    );
    assert.equal(lines[0].source, 'app');
    assert.equal(lines[0].pid, 7);
  });

  test('stderrLevel sets the level of stderr lines that say none; stdout is untouched', async () => {
    for (const stderrLevel of ['error', 'warn', 'debug'] as const) {
      const { out, text } = collector();
      const err = new PassThrough();
      const std = new PassThrough();
      const done = Promise.all([
        captureAppStream(err, 'stderr', 1, out, { stderrLevel }),
        captureAppStream(std, 'stdout', 1, out, { stderrLevel }),
      ]);
      err.end('plain\n[info] said\n');
      std.end('plain\n');
      await done;
      const lines = parse(await text());
      assert.deepEqual(
        lines.filter((l) => l.stream === 'stderr').map((l) => l.level),
        [stderrLevel, 'info'],
      );
      assert.deepEqual(
        lines.filter((l) => l.stream === 'stdout').map((l) => l.level),
        ['info'],
      );
    }
  });

  test('escapes quotes, backslashes, control characters and keeps UTF-8 in msg', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stdout', 1, out, { json: false });
    const msgs = ['{"json":"inside"}', 'back\\slash', 'tab\there\u0001\u001b[31m', 'é€😀 \u2028'];
    src.end(`${msgs.join('\r\n')}\n`);
    await done;
    assert.deepEqual(
      parse(await text()).map((l) => l.msg),
      msgs,
    );
  });

  test('flags the last line without a newline as partial', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stdout', 1, out);
    src.end('whole\nhalf');
    await done;
    const lines = parse(await text());
    assert.deepEqual(
      lines.map((l) => [l.msg, l.partial, l.split]),
      [
        ['whole', undefined, undefined],
        ['half', true, undefined],
      ],
    );
    assert.equal(Object.keys(lines[1]).at(-1), 'partial');
  });

  test('writes nothing for an empty stream', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stdout', 1, out);
    src.end();
    await done;
    assert.equal(await text(), '');
  });

  test('flags the pieces of a line longer than the limit as split', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stdout', 1, out, { maxLineBytes: 8 });
    src.write('0123456789abcdefXYZ\nshort\n');
    src.end('0123456789');
    await done;
    assert.deepEqual(
      parse(await text()).map((l) => [l.msg, l.split ?? false, l.partial ?? false]),
      [
        ['01234567', true, false],
        ['89abcdef', true, false],
        ['XYZ', false, false],
        ['short', false, false],
        ['01234567', true, false],
        ['89', false, true],
      ],
    );
  });

  test('splits at MAX_LINE_BYTES by default', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stdout', 1, out);
    src.end(`${'x'.repeat(MAX_LINE_BYTES + 10)}\n`);
    await done;
    const lines = parse(await text());
    assert.deepEqual(
      lines.map((l) => [l.msg.length, l.split ?? false]),
      [
        [MAX_LINE_BYTES, true],
        [10, false],
      ],
    );
  });

  test('flushes the held line as partial when the stream errors', async () => {
    const src = new PassThrough();
    const { out, text } = collector();
    const done = captureAppStream(src, 'stderr', 1, out);
    src.write('ok\nlost?');
    await new Promise(setImmediate);
    src.destroy(new Error('EIO'));
    await done;
    assert.deepEqual(
      parse(await text()).map((l) => [l.msg, l.partial ?? false]),
      [
        ['ok', false],
        ['lost?', true],
      ],
    );
  });

  test('captures a real child process stdout, with its pid', async (t) => {
    const script = [
      "process.stdout.write('first line\\n');",
      "process.stdout.write('crlf line\\r\\n');",
      "process.stdout.write('€ ');",
      "process.stdout.write('sign\\n\\n');",
      "process.stdout.write('no newline at exit');",
    ].join('');
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    assert.ok(child.pid);
    const { out, text } = collector();
    const [, , [code]] = await Promise.all([
      captureAppStream(child.stdout, 'stdout', child.pid, out),
      captureAppStream(child.stderr, 'stderr', child.pid, out),
      once(child, 'exit'),
    ]);
    assert.equal(code, 0);
    const lines = parse(await text());
    assert.ok(lines.every((l) => l.pid === child.pid && l.stream === 'stdout'));
    assert.deepEqual(
      lines.map((l) => [l.msg, l.partial ?? false]),
      [
        ['first line', false],
        ['crlf line', false],
        ['€ sign', false],
        ['', false],
        ['no newline at exit', true],
      ],
    );
  });

  test('captures a child that writes to both streams, each line once', async (t) => {
    const script =
      'for (let i = 0; i < 200; i++) { process.stdout.write("out " + i + "\\n"); process.stderr.write("err " + i + "\\n"); }';
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    assert.ok(child.pid);
    const { out, text } = collector();
    await Promise.all([
      captureAppStream(child.stdout, 'stdout', child.pid, out),
      captureAppStream(child.stderr, 'stderr', child.pid, out),
      once(child, 'exit'),
    ]);
    const lines = parse(await text());
    const expected = Array.from({ length: 200 }, (_, i) => i);
    assert.deepEqual(
      lines.filter((l) => l.stream === 'stdout').map((l) => l.msg),
      expected.map((i) => `out ${i}`),
    );
    assert.deepEqual(
      lines.filter((l) => l.stream === 'stderr').map((l) => [l.msg, l.level]),
      expected.map((i) => [`err ${i}`, 'error']),
    );
  });

  test('pauses the app stream while the output is full; every line arrives in order', async () => {
    const src = new PassThrough();
    // A tiny buffer with a callback on the next turn: nearly every write returns false.
    const { dest, out, text } = collector(1);
    let pauses = 0;
    const pause = src.pause.bind(src);
    src.pause = () => {
      pauses += 1;
      return pause();
    };
    let queuedMax = 0;
    const write = dest.write.bind(dest) as (...args: unknown[]) => boolean;
    dest.write = ((...args: unknown[]) => {
      const ok = write(...args);
      queuedMax = Math.max(queuedMax, dest.writableLength);
      return ok;
    }) as typeof dest.write;

    const done = captureAppStream(src, 'stdout', 1, out);
    const count = 500;
    for (let i = 0; i < count; i++) src.write(`line ${i}\n`);
    src.end('last');
    await done;

    const lines = parse(await text());
    assert.deepEqual(
      lines.map((l) => l.msg),
      [...Array.from({ length: count }, (_, i) => `line ${i}`), 'last'],
    );
    assert.equal(lines.at(-1)?.partial, true);
    assert.ok(pauses > 0, 'the app stream was paused');
    // Without back-pressure all 500 lines would queue at once; with it, one batch at a time.
    const oneLine = Buffer.byteLength(`${JSON.stringify(lines[0])}\n`) + 8;
    assert.ok(queuedMax <= 2 * oneLine, `queued ${queuedMax} bytes at most`);
  });

  test('back-pressures a real child process without losing or reordering lines', async (t) => {
    const count = 5000;
    const script = `for (let i = 0; i < ${count}; i++) process.stdout.write('line ' + i + ' ' + 'x'.repeat(100) + '\\n');`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    assert.ok(child.pid);
    const { out, text } = collector(64);
    await Promise.all([
      captureAppStream(child.stdout, 'stdout', child.pid, out),
      once(child, 'exit'),
    ]);
    const msgs = parse(await text()).map((l) => l.msg);
    assert.equal(msgs.length, count);
    for (let i = 0; i < count; i++) assert.equal(msgs[i], `line ${i} ${'x'.repeat(100)}`);
  });
});
