// The admin listener's surface over real sockets: health and /metrics without a token,
// everything else behind `Authorization: Bearer`, foreign Host refused, actions only over
// POST with the CSRF header, no CORS headers, the default address taken tolerated.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Logger, LogOutput } from '../core/log.ts';
import { type AdminOptions, AdminServer } from './admin-server.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  at: { host?: string; port?: number; socketPath?: string },
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...at, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function quietLog(): { log: Logger; lines: () => string } {
  let text = '';
  const dest = new Writable({
    write(c, _enc, done) {
      text += c;
      done();
    },
  });
  return { log: new Logger(new LogOutput(dest)), lines: () => text };
}

function options(stateDir: string, over: Partial<AdminOptions> = {}): AdminOptions {
  const calls: string[] = [];
  return {
    listen: '127.0.0.1:0',
    explicit: true,
    stateDir,
    log: quietLog().log,
    ready: () => ({ ready: true, reason: null }),
    metrics: async () => ({
      type: 'text/plain; version=0.0.4; charset=utf-8',
      body: 'pillion_x 1\n',
    }),
    status: () => ({ app: { state: 'ready' } }),
    stats: () => ({ time_ms: 1 }),
    config: () => ({ app: {} }),
    restart: async () => {
      calls.push('restart');
      return { status: 200, body: { ok: true, calls } };
    },
    drain: () => ({ status: 202, body: { ok: true, draining: true } }),
    reload: async () => ({ status: 200, body: { ok: true } }),
    ...over,
  };
}

async function started(over: Partial<AdminOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-admin-'));
  const admin = new AdminServer(options(dir, over));
  await admin.start();
  const addr = admin.address as string;
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  return {
    admin,
    dir,
    port,
    token,
    at: { host: '127.0.0.1', port },
    close: async () => {
      await admin.stop(AbortSignal.timeout(2000));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('health and metrics need no token; the token file is 0600', async (t) => {
  const s = await started();
  t.after(() => s.close());
  assert.equal(statSync(join(s.dir, 'admin-token')).mode & 0o777, 0o600);
  const h = await get(s.at, '/healthz');
  assert.equal(h.status, 200);
  assert.deepEqual(JSON.parse(h.body), { status: 'ok' });
  const r = await get(s.at, '/readyz');
  assert.deepEqual(JSON.parse(r.body), { ready: true, reason: null });
  const m = await get(s.at, '/metrics');
  assert.equal(m.status, 200);
  assert.equal(m.body, 'pillion_x 1\n');
});

test('readyz answers 503 with the reason when not ready', async (t) => {
  const s = await started({ ready: () => ({ ready: false, reason: 'draining' }) });
  t.after(() => s.close());
  const r = await get(s.at, '/readyz');
  assert.equal(r.status, 503);
  assert.deepEqual(JSON.parse(r.body), { ready: false, reason: 'draining' });
});

test('every way but the exact Bearer header is refused with 401', async (t) => {
  const s = await started();
  t.after(() => s.close());
  const probes: [string, string, Record<string, string>][] = [
    ['no token', '/api/v1/status', {}],
    ['wrong token', '/api/v1/status', { authorization: `Bearer ${s.token.slice(1)}x` }],
    ['token in the query', `/api/v1/status?token=${s.token}`, {}],
    // A space at the very end is optional whitespace HTTP itself strips (RFC 9110 §5.5): the
    // header is then the same. Anything after a space, or a doubled space, is not the token.
    [
      'token with a trailing space and more',
      '/api/v1/status',
      { authorization: `Bearer ${s.token} x` },
    ],
    ['token with a doubled space', '/api/v1/status', { authorization: `Bearer  ${s.token}` }],
    ['token with one more character', '/api/v1/status', { authorization: `Bearer ${s.token}=` }],
    ['token cut short', '/api/v1/status', { authorization: `Bearer ${s.token.slice(0, -1)}` }],
    ['token without the scheme', '/api/v1/status', { authorization: s.token }],
    ['basic scheme', '/api/v1/status', { authorization: `Basic ${s.token}` }],
  ];
  for (const [what, path, headers] of probes) {
    const r = await get(s.at, path, { headers });
    assert.equal(r.status, 401, what);
    assert.equal(JSON.parse(r.body).error.code, 'PILLION_ADMIN_UNAUTHORIZED', what);
    assert.ok(!r.body.includes(s.token), `${what}: the token is not echoed`);
  }
  const ok = await get(s.at, '/api/v1/status', { headers: { authorization: `Bearer ${s.token}` } });
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { app: { state: 'ready' } });
});

test('a foreign Host is refused with 421, even with the token and on /healthz', async (t) => {
  const s = await started();
  t.after(() => s.close());
  const auth = { authorization: `Bearer ${s.token}` };
  for (const host of ['evil.example', `evil.example:${s.port}`, '127.0.0.1', 'localhost:1']) {
    for (const path of ['/api/v1/status', '/healthz', '/metrics']) {
      const r = await get(s.at, path, { headers: { ...auth, host } });
      assert.equal(r.status, 421, `${host} ${path}`);
    }
  }
  for (const host of [`localhost:${s.port}`, `127.0.0.1:${s.port}`, `[::1]:${s.port}`]) {
    const r = await get(s.at, '/api/v1/status', { headers: { ...auth, host } });
    assert.equal(r.status, 200, host);
  }
});

test('actions take POST with the CSRF header; GET changes nothing; no CORS headers', async (t) => {
  const s = await started();
  t.after(() => s.close());
  const auth = { authorization: `Bearer ${s.token}` };
  const viaGet = await get(s.at, '/api/v1/restart', { headers: auth });
  assert.equal(viaGet.status, 405);
  assert.equal(viaGet.headers.allow, 'POST');
  const noCsrf = await get(s.at, '/api/v1/restart', { method: 'POST', headers: auth });
  assert.equal(noCsrf.status, 403);
  assert.equal(JSON.parse(noCsrf.body).error.code, 'PILLION_ADMIN_FORBIDDEN');
  const wrong = await get(s.at, '/api/v1/restart', {
    method: 'POST',
    headers: { ...auth, 'x-pillion-csrf': 'nope' },
  });
  assert.equal(wrong.status, 403);
  const { csrf } = JSON.parse((await get(s.at, '/api/v1/csrf', { headers: auth })).body);
  const preflight = await get(s.at, '/api/v1/restart', {
    method: 'OPTIONS',
    headers: { ...auth, origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(preflight.status, 405);
  const done = await get(s.at, '/api/v1/restart', {
    method: 'POST',
    headers: { ...auth, 'x-pillion-csrf': csrf, origin: 'https://evil.example' },
  });
  assert.equal(done.status, 200);
  // One restart: the refused attempts never reached it.
  assert.deepEqual(JSON.parse(done.body), { ok: true, calls: ['restart'] });
  for (const r of [viaGet, noCsrf, preflight, done])
    assert.deepEqual(
      Object.keys(r.headers).filter((h) => h.startsWith('access-control-')),
      [],
    );
  const noCsrfWithoutToken = await get(s.at, '/api/v1/restart', {
    method: 'POST',
    headers: { 'x-pillion-csrf': csrf },
  });
  assert.equal(noCsrfWithoutToken.status, 401);
});

test('the default address taken: a warning and no admin listener; an explicit one: an error', async (t) => {
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
  t.after(() => holder.close());
  const port = (holder.address() as { port: number }).port;
  const dir = mkdtempSync(join(tmpdir(), 'pillion-admin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const q = quietLog();
  const tolerant = new AdminServer(
    options(dir, { listen: `127.0.0.1:${port}`, explicit: false, log: q.log }),
  );
  await tolerant.start();
  assert.equal(tolerant.address, undefined);
  assert.match(q.lines(), /the default admin address is taken/);
  await tolerant.stop(AbortSignal.timeout(1000));
  const strict = new AdminServer(options(dir, { listen: `127.0.0.1:${port}`, explicit: true }));
  await assert.rejects(strict.start(), { code: 'PILLION_LISTEN_FAILED' });
});

test('a Unix socket is made 0600 and answers localhost', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-admin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'admin.sock');
  const admin = new AdminServer(options(dir, { listen: `unix:${path}` }));
  await admin.start();
  t.after(() => admin.stop(AbortSignal.timeout(1000)));
  assert.equal(admin.address, `unix:${path}`);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  const r = await get({ socketPath: path }, '/api/v1/stats', {
    headers: { host: 'localhost', authorization: `Bearer ${token}` },
  });
  assert.equal(r.status, 200);
});

test('the probe listener serves health and metrics only', async (t) => {
  const s = await started({ probes: '127.0.0.1:0' });
  t.after(() => s.close());
  const addr = s.admin.probesAddress as string;
  const at = { host: '127.0.0.1', port: Number(addr.slice(addr.lastIndexOf(':') + 1)) };
  assert.equal((await get(at, '/healthz', { headers: { host: 'pod-ip:14020' } })).status, 200);
  assert.equal((await get(at, '/metrics')).status, 200);
  assert.equal((await get(at, '/readyz')).status, 200);
  const api = await get(at, '/api/v1/status', { headers: { authorization: `Bearer ${s.token}` } });
  assert.equal(api.status, 404);
});

test('a target names an endpoint only in origin form; a HEAD to the log stream ends', async (t) => {
  const s = await started({ logs: { recent: () => [], subscribe: () => () => {} } });
  t.after(() => s.close());
  const auth = { authorization: `Bearer ${s.token}` };
  // `//` once made the URL parser throw (a 500); `//x/api/v1/status` is a path, not host x.
  for (const path of ['//', '//evil.test/api/v1/status', '/x/../api/v1/nope']) {
    const r = await get(s.at, path, { headers: auth });
    assert.equal(r.status, 404, path);
    assert.equal(JSON.parse(r.body).error.code, 'PILLION_ADMIN_NOT_FOUND');
  }
  assert.equal((await get(s.at, '/x/../api/v1/status', { headers: auth })).status, 200);
  const head = await get(s.at, '/api/v1/logs/stream', { method: 'HEAD', headers: auth });
  assert.equal(head.status, 200);
  assert.equal(head.headers['content-type'], 'text/event-stream; charset=utf-8');
});
