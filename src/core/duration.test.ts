import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  const valid: [text: string, ms: number][] = [
    ['0', 0],
    ['10', 10_000],
    ['1.5', 1_500],
    ['0.25', 250],
    ['007', 7_000],
    ['10s', 10_000],
    ['0s', 0],
    ['2.5s', 2_500],
    ['500ms', 500],
    ['0ms', 0],
    ['1ms', 1],
    ['1.4ms', 1],
    ['1.6ms', 2],
    ['1m', 60_000],
    ['1.5m', 90_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['0.5h', 1_800_000],
    ['24h', 86_400_000],
    ['0.001s', 1],
    [' 10s ', 10_000],
    ['\t5ms\n', 5],
  ];
  for (const [text, ms] of valid) {
    test(`${JSON.stringify(text)} is ${ms} ms`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  const invalid = [
    '',
    ' ',
    's',
    'ms',
    '-1',
    '-1s',
    '+1s',
    '.5s',
    '1.s',
    '1.',
    '1..5s',
    '1,5s',
    '1e3',
    '1e3ms',
    '0x10',
    'Infinity',
    'NaN',
    '10 s',
    '10S',
    '10MS',
    '10sec',
    '10us',
    '10d',
    '1h30m',
    '10s10',
    'ten',
    '١٠', // Arabic-Indic digits are not \d
    '1000h', // past the longest Node timer: it would fire at once
    '2147484s',
    '1'.repeat(400), // Infinity
  ];
  for (const text of invalid) {
    test(`${JSON.stringify(text)} is not a duration`, () => {
      assert.equal(parseDuration(text), undefined);
    });
  }

  test('accepts the longest delay a Node timer honours, and nothing past it', () => {
    assert.equal(parseDuration('2147483647ms'), 2 ** 31 - 1);
    assert.equal(parseDuration('2147483648ms'), undefined);
  });

  test('always returns a whole number of milliseconds', () => {
    for (const text of ['0.1ms', '0.3333s', '1.23456m', '0.0001h']) {
      const ms = parseDuration(text);
      assert.ok(ms !== undefined && Number.isInteger(ms), `${text} gave ${ms}`);
    }
  });
});
