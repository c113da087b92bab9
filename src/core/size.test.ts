import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { didYouMean } from '../config/suggest.ts';
import { parseSize } from './size.ts';

describe('parseSize', () => {
  const valid: [string, number][] = [
    ['0', 0],
    ['512', 512],
    ['512B', 512],
    ['16KiB', 16_384],
    ['16KB', 16_000],
    ['1.5MiB', 1_572_864],
    ['1MB', 1_000_000],
    ['2GiB', 2 * 1024 ** 3],
    [' 1GB ', 1e9],
    ['64K', 65_536],
    ['64k', 65_536],
    ['16M', 16 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5M', 1_572_864],
  ];
  for (const [text, bytes] of valid) {
    test(`${JSON.stringify(text)} is ${bytes} bytes`, () => assert.equal(parseSize(text), bytes));
  }
  for (const text of ['', 'KiB', '-1', '1kib', '1 KiB', '1TiB', '1e3', '0x10', '1.KiB']) {
    test(`${JSON.stringify(text)} is not a size`, () => assert.equal(parseSize(text), undefined));
  }
});

describe('didYouMean', () => {
  const keys = ['command', 'port', 'stop_timeout', 'listen', 'config', 'secrets'];
  const cases: [string, string | undefined][] = [
    ['lisen', 'listen'],
    ['prot', 'port'],
    ['comand', 'command'],
    ['stop-timeout', 'stop_timeout'],
    ['Secrets', 'secrets'],
    ['foo', undefined],
    ['x', undefined],
    ['configuration', undefined],
  ];
  for (const [word, near] of cases) {
    test(`${word} -> ${near}`, () => assert.equal(didYouMean(word, keys), near));
  }
});
