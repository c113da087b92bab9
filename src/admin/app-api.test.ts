import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, watch, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { Logger, LogOutput } from '../core/log.ts';
import { AppApi } from './app-api.ts';

function get(
  socketPath: string,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; cache: unknown; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, headers, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, cache: res.headers['cache-control'], body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

test('the config API over a Unix socket: config, secrets, reload, refusals', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-api-'));
  const sock = join(dir, 'api.sock');
  writeFileSync(join(dir, 'pw'), 'pw-one');
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  // libuv keeps one inotify descriptor for the process once any watch has been made.
  watch(dir).close();
  await readFile(join(dir, 'pw'));
  const fdsBefore = readdirSync('/proc/self/fd').length;
  const api = new AppApi({
    listen: `unix:${sock}`,
    config: { a: 1 },
    secrets: { pw: { file: join(dir, 'pw') }, key: { env: 'K' } },
    env: { K: 'from-env' },
    log: new Logger(new LogOutput(sink), 'app-api'),
  });
  await api.start();
  let stopped = false;
  t.after(() => (stopped ? undefined : api.stop(AbortSignal.timeout(1000))));
  const { PILLION_API_URL: url, PILLION_API_TOKEN: token } = api.env();
  assert.equal(url, `unix:${sock}`);
  assert.ok(token.length >= 43);
  const auth = { authorization: `Bearer ${token}` };

  assert.deepEqual(JSON.parse((await get(sock, '/v1/config', auth)).body), { a: 1 });
  assert.equal((await get(sock, '/v1/secrets/pw', auth)).body, 'pw-one');
  assert.equal((await get(sock, '/v1/secrets/key', auth)).body, 'from-env');
  assert.equal((await get(sock, '/v1/secrets/nope', auth)).status, 404);
  assert.equal((await get(sock, '/v1/config', auth, 'POST')).status, 405);
  assert.equal((await get(sock, '/v1/config', { authorization: token })).status, 401);
  assert.equal((await get(sock, `/v1/config?x=${token}`, auth)).status, 400);
  assert.equal((await get(sock, '/v1/config', { ...auth, via: '1.1 x' })).status, 403);
  assert.equal((await get(sock, '/v1/config', auth)).cache, 'no-store');
  assert.ok(lines.some((l) => l.includes('token was sent in a URL query')));

  // A reload: new config, a secret moved from env to a file.
  writeFileSync(join(dir, 'k2'), 'from-file');
  const before = api.version;
  await api.update({ a: 2 }, { pw: { file: join(dir, 'pw') }, key: { file: join(dir, 'k2') } });
  assert.equal(api.version, before + 2);
  assert.deepEqual(JSON.parse((await get(sock, '/v1/config', auth)).body), { a: 2 });
  assert.equal((await get(sock, '/v1/secrets/key', auth)).body, 'from-file');
  // The same config again: no change, no event.
  await api.update({ a: 2 }, { pw: { file: join(dir, 'pw') }, key: { file: join(dir, 'k2') } });
  assert.equal(api.version, before + 2);

  await api.stop(AbortSignal.timeout(1000));
  stopped = true;
  // The client's side of the last connection closes a moment after its response ended.
  for (let i = 0; i < 100 && readdirSync('/proc/self/fd').length > fdsBefore; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(readdirSync('/proc/self/fd').length, fdsBefore, 'no fd left behind');

  const logged = lines.join('\n');
  assert.doesNotMatch(logged, /pw-one|from-env|from-file/);
  assert.equal(logged.includes(token), false);
});

test('a config API address in use is PILLION_LISTEN_FAILED naming app.api.listen', async () => {
  const log = new Logger(new LogOutput(new Writable({ write: (_c, _e, cb) => cb() })), 'app-api');
  const first = new AppApi({ listen: '127.0.0.1:0', config: null, secrets: {}, env: {}, log });
  await first.start();
  const port = new URL(first.env().PILLION_API_URL).port;
  const second = new AppApi({
    listen: `127.0.0.1:${port}`,
    config: null,
    secrets: {},
    env: {},
    log,
  });
  await assert.rejects(second.start(), (err: unknown) => {
    assert.ok(err instanceof PillionError);
    assert.equal(err.code, ErrorCode.LISTEN_FAILED);
    assert.match(
      err.message,
      /^app\.api\.listen: the config API cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/,
    );
    return true;
  });
  await second.stop(AbortSignal.timeout(1000));
  await first.stop(AbortSignal.timeout(1000));
});
