import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { parseSize } from '../core/size.ts';
import { logsFromFlags } from './flags.ts';

test('no log flag: no log options (defaults apply)', () => {
  assert.equal(logsFromFlags({}), undefined);
});

test('log flags become log options', () => {
  const o = logsFromFlags({
    'log-format': 'human',
    'log-file': '/tmp/p.log',
    'log-file-max-size': '10M',
    'log-file-keep': '3',
    'log-file-only': true,
    'log-buffer': '4M',
    'log-when-full': 'drop',
    'log-long-lines': 'truncate',
    'log-max-line': '16K',
    'log-multiline': '200ms',
    'log-stderr-level': 'error',
    'log-otlp-endpoint': 'http://127.0.0.1:4318',
    'access-log-format': 'combined',
    'access-log-fields': 'time, status,path',
    'log-redact-query': 'token,sig',
  });
  assert.deepEqual(o, {
    format: 'human',
    file: { path: '/tmp/p.log', maxBytes: 10 * 1024 * 1024, keep: 3 },
    stdout: false,
    bufferBytes: 4 * 1024 * 1024,
    whenFull: 'drop',
    app: { overLong: 'truncate', maxLineBytes: 16 * 1024, multilineMs: 200, stderrLevel: 'error' },
    otlp: { endpoint: 'http://127.0.0.1:4318' },
    access: {
      format: 'combined',
      fields: ['time', 'status', 'path'],
      redactQuery: ['token', 'sig'],
    },
  });
});

test('bad log flags are usage errors naming the flag', () => {
  const cases: [Record<string, string | boolean>, RegExp][] = [
    [{ 'log-format': 'xml' }, /^--log-format: 'xml' is not one of json, human/],
    [
      { 'log-stderr-level': 'fatal' },
      /^--log-stderr-level: 'fatal' is not one of debug, info, warn, error/,
    ],
    [{ 'log-when-full': 'wait' }, /^--log-when-full/],
    [{ 'log-buffer': '1K' }, /^--log-buffer: '1K' is not a size of at least 65536/],
    [
      { 'log-file-keep': '2', 'log-file': 'x', 'log-file-max-size': 'lots' },
      /^--log-file-max-size/,
    ],
    [{ 'log-file-keep': 'x', 'log-file': 'x' }, /^--log-file-keep/],
    [{ 'log-file-only': true }, /need --log-file/],
    [{ 'log-multiline': 'soon' }, /^--log-multiline/],
    [{ 'log-otlp-endpoint': 'grpc://x' }, /^--log-otlp-endpoint/],
    [{ 'access-log-fields': 'time,secret' }, /unknown field 'secret'/],
  ];
  for (const [values, pattern] of cases) {
    assert.throws(
      () => logsFromFlags(values),
      (err: unknown) =>
        err instanceof PillionError && err.code === ErrorCode.USAGE && pattern.test(err.message),
      JSON.stringify(values),
    );
  }
});

test('parseSize reads bytes with K, M, G', () => {
  assert.equal(parseSize('512'), 512);
  assert.equal(parseSize('64K'), 65536);
  assert.equal(parseSize('16MiB'), 16 * 1024 * 1024);
  assert.equal(parseSize('1g'), 1024 ** 3);
  assert.equal(parseSize('1.5M'), 1.5 * 1024 ** 2);
});
