import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normaliseTarget } from './guard.ts';

test('request targets become origin-form or are refused', () => {
  const table: [string, string, { path: string; authority: string } | undefined][] = [
    ['GET', '/a?b', { path: '/a?b', authority: 'h' }],
    ['GET', '//x/y', { path: '//x/y', authority: 'h' }],
    ['OPTIONS', '*', { path: '*', authority: 'h' }],
    ['GET', '*', undefined],
    ['GET', 'http://a.test:81/x?y', { path: '/x?y', authority: 'a.test:81' }],
    ['GET', 'HTTPS://a.test', { path: '/', authority: 'a.test' }],
    ['GET', 'http://u:p@a.test/', undefined],
    ['GET', 'ftp://a.test/', undefined],
    ['GET', 'a.test:443', undefined],
    ['GET', '', undefined],
    ['GET', 'x', undefined],
  ];
  for (const [method, target, want] of table)
    assert.deepEqual(normaliseTarget(method, target, 'h'), want, `${method} ${target}`);
});
