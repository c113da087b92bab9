import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { LogOutput } from '../core/log.ts';
import { type AppLogOptions, captureAppStream } from './app-log.ts';
import { levelFromPrefix, levelFromValue } from './level.ts';
import { LogStats } from './stats.ts';

type Line = Record<string, unknown>;

/** Runs `input` through a capture of `name` and returns the parsed output lines. */
async function capture(
  input: string[],
  opts: Partial<AppLogOptions> = {},
  name: 'stdout' | 'stderr' = 'stdout',
  gapMs = 0,
): Promise<Line[]> {
  const chunks: Buffer[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const out = new LogOutput(dest);
  const src = new PassThrough();
  const done = captureAppStream(src, name, 9, out, opts);
  for (const c of input) {
    src.write(c);
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
  src.end();
  await done;
  await out.flush();
  const text = Buffer.concat(chunks).toString('utf8');
  return text === ''
    ? []
    : text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as Line);
}

const strip = (l: Line): Line => {
  const { time: _t, pid: _p, source: _s, ...rest } = l;
  return rest;
};

describe('JSON app lines', () => {
  test('keep their fields as structure, with msg and level mapped', async () => {
    const lines = await capture([
      '{"level":"warning","msg":"disk low","free_mb":12,"tags":["a","b"],"ctx":{"user":7}}\n',
      '{"level":50,"time":1732600000000,"pid":1,"hostname":"h","msg":"pino error"}\n',
      '{"severity":"DEBUG","message":"gcp style"}\n',
      '{"no":"level or msg"}\n',
    ]);
    assert.deepEqual(lines.map(strip), [
      {
        level: 'warn',
        stream: 'stdout',
        msg: 'disk low',
        free_mb: 12,
        tags: ['a', 'b'],
        ctx: { user: 7 },
      },
      {
        level: 'error',
        stream: 'stdout',
        msg: 'pino error',
        app_time: 1732600000000,
        app_pid: 1,
        hostname: 'h',
      },
      { level: 'debug', stream: 'stdout', msg: 'gcp style' },
      { level: 'info', stream: 'stdout', msg: '', no: 'level or msg' },
    ]);
    // The envelope stays first and Pillion's own.
    assert.deepEqual(Object.keys(lines[1]).slice(0, 6), [
      'time',
      'level',
      'source',
      'stream',
      'pid',
      'msg',
    ]);
    assert.equal(lines[1].pid, 9);
    assert.equal(lines[1].source, 'app');
  });

  test('are text when not an object, not valid, or when JSON is off', async () => {
    const input = ['[1,2]\n', '{"broken": \n', '{"a":1} trailing\n'];
    const lines = await capture(input);
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['[1,2]', '{"broken": ', '{"a":1} trailing'],
    );
    const off = await capture(['{"a":1}\n'], { json: false });
    assert.equal(off[0].msg, '{"a":1}');
    assert.equal(off[0].a, undefined);
  });

  test("an app's own flag fields cannot pose as Pillion's", async () => {
    const [line] = await capture(['{"msg":"x","partial":true,"split":true,"truncated":1}\n']);
    assert.equal(line.partial, undefined);
    assert.equal(line.split, undefined);
    assert.equal(line.app_partial, true);
    assert.equal(line.app_split, true);
    assert.equal(line.app_truncated, 1);
  });

  test('a partial JSON line keeps its structure and its partial flag', async () => {
    const [line] = await capture(['{"msg":"bye","code":3}']);
    assert.equal(line.msg, 'bye');
    assert.equal(line.code, 3);
    assert.equal(line.partial, true);
  });
});

describe('levels', () => {
  test('come from common prefixes, else info (stderr too, by default)', async () => {
    const lines = await capture(
      [
        'ERROR: boom\n',
        '[warn] careful\n',
        'INFO:root:started\n',
        '2026-11-26 10:00:00,123 DEBUG detail\n',
        '2026-11-26T10:00:00Z WARNING x\n',
        'Errors happen\n',
        'plain text\n',
      ],
      {},
      'stderr',
    );
    assert.deepEqual(
      lines.map((l) => l.level),
      ['error', 'warn', 'info', 'debug', 'warn', 'info', 'info'],
    );
    const out = await capture(['plain\n', 'debug: x\n', 'Information\n']);
    assert.deepEqual(
      out.map((l) => l.level),
      ['info', 'debug', 'info'],
    );
    const off = await capture(['ERROR: x\n'], { levelPrefix: false });
    assert.equal(off[0].level, 'info');
  });

  test('levelFromPrefix and levelFromValue fold onto four levels', () => {
    assert.equal(levelFromPrefix('FATAL something'), 'error');
    assert.equal(levelFromPrefix('<notice> hi'), 'info');
    assert.equal(levelFromPrefix('TRACE'), 'debug');
    assert.equal(levelFromPrefix('warnings are fine'), undefined);
    assert.equal(levelFromPrefix('12 errors'), undefined);
    assert.equal(levelFromValue(10), 'debug');
    assert.equal(levelFromValue(30), 'info');
    assert.equal(levelFromValue(40), 'warn');
    assert.equal(levelFromValue(60), 'error');
    assert.equal(levelFromValue('Critical'), 'error');
    assert.equal(levelFromValue('verbose'), undefined);
    assert.equal(levelFromValue(true), undefined);
  });
});

describe('multiline joining', () => {
  const trace = [
    'Error: boom\n',
    '    at f (a.js:1:1)\n',
    '\tat g (b.js:2:2)\n',
    'next line\n',
    'last\n',
  ];

  test('joins continuation lines to the line before', async () => {
    const lines = await capture(trace, { multilineMs: 50 });
    assert.deepEqual(
      lines.map((l) => [l.msg, l.level]),
      [
        ['Error: boom\n    at f (a.js:1:1)\n\tat g (b.js:2:2)', 'error'],
        ['next line', 'info'],
        ['last', 'info'],
      ],
    );
  });

  test('joins across chunks that arrive apart, within the time limit', async () => {
    const lines = await capture(trace, { multilineMs: 2000 }, 'stdout', 20);
    assert.equal(lines.length, 3);
    assert.equal(lines[0].msg, 'Error: boom\n    at f (a.js:1:1)\n\tat g (b.js:2:2)');
  });

  test('emits a held line once the time limit passes, without waiting for the next', async () => {
    const chunks: Buffer[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    const out = new LogOutput(dest);
    const src = new PassThrough();
    const done = captureAppStream(src, 'stdout', 1, out, { multilineMs: 30 });
    src.write('held\n');
    // Bounded wait: the line appears after the limit although the stream stays open.
    for (let i = 0; i < 200 && chunks.length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(JSON.parse(Buffer.concat(chunks).toString()).msg, 'held');
    src.end();
    await done;
  });

  test('is off by default', async () => {
    const lines = await capture(trace);
    assert.equal(lines.length, 5);
  });
});

describe('over-long lines', () => {
  test('truncate keeps the first piece, flagged, and counts it', async () => {
    const chunks: Buffer[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    const out = new LogOutput(dest);
    const stats = new LogStats();
    const src = new PassThrough();
    const done = captureAppStream(
      src,
      'stdout',
      1,
      out,
      { maxLineBytes: 8, overLong: 'truncate' },
      stats,
    );
    src.end('0123456789abcdef\nshort\n0123456789\nend');
    await done;
    await out.flush();
    const lines = Buffer.concat(chunks)
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Line);
    assert.deepEqual(
      lines.map((l) => [l.msg, l.truncated ?? false, l.partial ?? false]),
      [
        ['01234567', true, false],
        ['short', false, false],
        ['01234567', true, false],
        ['end', false, true],
      ],
    );
    assert.equal(stats.linesTruncated, 2);
    assert.equal(stats.linesPartial, 1);
    assert.equal(stats.linesSplit, 0);
    assert.equal(stats.lines.stdout, 4);
  });

  test('split counts each long line once', async () => {
    const out = new LogOutput(new Writable({ write: (_c, _e, cb) => cb() }));
    const stats = new LogStats();
    const src = new PassThrough();
    const done = captureAppStream(src, 'stderr', 1, out, { maxLineBytes: 4 }, stats);
    src.end('aaaaaaaaaaaaa\nbbbbbbbbb\nc\n');
    await done;
    assert.equal(stats.linesSplit, 2);
    assert.equal(stats.lines.stderr, 4 + 3 + 1);
  });
});
