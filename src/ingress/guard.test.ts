import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkH2, normaliseTarget } from './guard.ts';
import { DEFAULT_LIMITS } from './limits.ts';

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

test('HTTP/2 CONNECT passes only as an extended CONNECT for a WebSocket (RFC 8441)', () => {
  const base = { ':scheme': 'https', ':path': '/ws', ':authority': 'a.test' };
  const table: [Record<string, string>, boolean][] = [
    [{ ...base, ':method': 'CONNECT', ':protocol': 'websocket' }, true],
    [{ ':method': 'CONNECT', ':authority': 'a.test:22' }, false],
    [{ ...base, ':method': 'CONNECT', ':protocol': 'connect-udp' }, false],
    [{ ...base, ':method': 'GET', ':protocol': 'websocket' }, false],
    [{ ...base, ':method': 'GET' }, true],
  ];
  for (const [headers, ok] of table)
    assert.equal(
      checkH2(headers, Object.keys(headers).length, DEFAULT_LIMITS).ok,
      ok,
      JSON.stringify(headers),
    );
});
