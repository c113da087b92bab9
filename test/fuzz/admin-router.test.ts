// B9: the admin router (src/admin/admin-server.ts), fuzzed over real sockets on loopback.
// Property 1: any method, target (the API's own paths, dot segments, doubled slashes,
// percent-escapes, `//host/…`, absolute form, queries), Host, Authorization and CSRF header get the answer
// the router's rules give, in this order: no Host 400 (Node's server), a foreign Host 421; /healthz, /readyz, /metrics with
// no token (GET/HEAD, else 405); no exact bearer token 401; reads over GET/HEAD (else 405);
// actions only over POST (else 405) with the CSRF value (else 403); anything else 404. An
// action runs exactly when that says it does, and never a 5xx. Property 2: random bytes, and a
// valid request with bytes spliced in, never run an action, never get a 5xx, and the listener
// still answers /healthz afterwards.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { AdminServer } from '../../src/admin/admin-server.ts';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { fuzz } from './fuzz.ts';

const PUBLIC = ['/healthz', '/readyz', '/metrics'];
const READS = ['/api/v1/status', '/api/v1/stats', '/api/v1/config', '/api/v1/csrf', '/api/v1/logs'];
const ACTIONS = ['/api/v1/restart', '/api/v1/drain', '/api/v1/reload'];
const ACTION_STATUS: Record<string, number> = {
  '/api/v1/restart': 200,
  '/api/v1/drain': 202,
  '/api/v1/reload': 200,
};

let admin: AdminServer;
let dir: string;
let port: number;
let token: string;
let csrf: string;
const actionsRun: string[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pillion-admin-fuzz-'));
  const sink = new Writable({ write: (_c, _e, done) => done() });
  const act = (name: string, status: number) => () => {
    actionsRun.push(name);
    return { status, body: { ok: true } };
  };
  admin = new AdminServer({
    listen: '127.0.0.1:0',
    explicit: true,
    stateDir: dir,
    log: new Logger(new LogOutput(sink)),
    ready: () => ({ ready: true, reason: null }),
    metrics: async () => ({ type: 'text/plain; version=0.0.4', body: 'pillion_up 1\n' }),
    status: () => ({ app: { state: 'ready' } }),
    stats: () => ({ time_ms: 1 }),
    config: () => ({ app: {} }),
    logs: { recent: () => [{ msg: 'a line' }], subscribe: () => () => {} },
    restart: async () => act('restart', 200)(),
    drain: act('drain', 202),
    reload: async () => act('reload', 200)(),
  });
  await admin.start();
  const addr = admin.address as string;
  port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
  const c = await send(
    `GET /api/v1/csrf HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
  );
  csrf = JSON.parse(c.body).csrf;
});

after(async () => {
  await admin.stop(AbortSignal.timeout(2000));
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  /** 0 when the connection closed with no status line. */
  status: number;
  body: string;
}

/** Writes `bytes` on a new connection and reads until the server closes it (bounded). */
function send(bytes: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within 5 s after ${JSON.stringify(String(bytes).slice(0, 200))}`));
    }, 5000);
    s.on('data', (c) => chunks.push(c));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
      const cut = text.indexOf('\r\n\r\n');
      const body = cut === -1 ? '' : text.slice(cut + 4);
      const chunked = /\r\ntransfer-encoding: chunked\r\n/i.test(text.slice(0, cut + 2));
      resolve({ status: m ? Number(m[1]) : 0, body: chunked ? dechunk(body) : body });
    });
    s.end(bytes);
  });
}

/** The data of a chunked body (the server's own framing, read without checks). */
function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    const size = eol === -1 ? 0 : Number.parseInt(text.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

const pathArb = fc.oneof(
  fc.constantFrom(
    ...PUBLIC,
    ...READS,
    ...ACTIONS,
    '/api/v1/logs/stream',
    '/',
    '//',
    '*',
    '/api/v1',
  ),
  fc
    .tuple(
      fc.constantFrom(...PUBLIC, ...READS, ...ACTIONS),
      fc.constantFrom(
        (p: string) => `${p}/`,
        (p: string) => p.toUpperCase(),
        (p: string) => `/api/v1/../${p.slice(1)}`,
        (p: string) => `/x/..${p}`,
        (p: string) => `/${p}`,
        (p: string) => p.replace('/v1/', '/v1//'),
        (p: string) => p.replace(/[a-z]$/, (ch) => `%${ch.charCodeAt(0).toString(16)}`),
        (p: string) => `http://evil.test${p}`,
        (p: string) => `//evil.test${p}`,
        (p: string) => `${p}?token=x&n=3`,
        (p: string) => `${p}#frag`,
        (p: string) => `${p}%00`,
        (p: string) => `${p};x=1`,
      ),
    )
    .map(([p, f]) => f(p)),
  fc.stringMatching(/^\/[!$&'()*+,;=:@A-Za-z0-9._~%/?-]{0,60}$/),
);
const requestArb = fc.record({
  // Methods llhttp knows: an unknown one is Node's 400 before the router sees it.
  method: fc.constantFrom(
    'GET',
    'HEAD',
    'POST',
    'PUT',
    'DELETE',
    'OPTIONS',
    'PATCH',
    'TRACE',
    'PURGE',
  ),
  path: pathArb,
  host: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom('127.0.0.1:P', 'localhost:P', '[::1]:P', 'LOCALHOST:P'),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        'evil.test:P',
        '127.0.0.1',
        '127.0.0.1:1',
        'localhost.evil.test:P',
        '',
        'absent',
      ),
    },
  ),
  auth: fc.constantFrom('token', 'token', 'token', 'none', 'wrong', 'lower', 'basic', 'suffix'),
  csrf: fc.constantFrom('right', 'right', 'none', 'wrong'),
  body: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
});
type Req = typeof requestArb extends fc.Arbitrary<infer T> ? T : never;

/** The status the router's rules give a request. */
function expected(r: Req, host: string | undefined): { status: number; action?: string } {
  const allowed = ['127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`);
  // HTTP/1.1 requires Host (RFC 9112 §3.2): Node's server refuses a request without one.
  if (host === undefined) return { status: 400 };
  if (!allowed.includes(host.toLowerCase())) return { status: 421 };
  if (!r.path.startsWith('/')) return { status: 404 };
  const path = new URL(`http://admin${r.path}`).pathname;
  const getLike = r.method === 'GET' || r.method === 'HEAD';
  if (PUBLIC.includes(path)) return { status: getLike ? 200 : 405 };
  if (r.auth !== 'token') return { status: 401 };
  if (READS.includes(path) || path === '/api/v1/logs/stream')
    return { status: getLike ? 200 : 405 };
  if (ACTIONS.includes(path)) {
    if (r.method !== 'POST') return { status: 405 };
    if (r.csrf !== 'right') return { status: 403 };
    return { status: ACTION_STATUS[path], action: path.slice('/api/v1/'.length) };
  }
  return { status: 404 };
}

function rawRequest(r: Req): { text: string; host: string | undefined } {
  const host = r.host === 'absent' ? undefined : r.host.replace('P', String(port));
  const lines = [`${r.method} ${r.path} HTTP/1.1`];
  if (host !== undefined) lines.push(`Host: ${host}`);
  const auth = {
    token: `Bearer ${token}`,
    wrong: `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`,
    lower: `bearer ${token}`,
    basic: `Basic ${Buffer.from(`pillion:${token}`).toString('base64')}`,
    suffix: `Bearer ${token} x`,
    none: undefined,
  }[r.auth];
  if (auth !== undefined) lines.push(`Authorization: ${auth}`);
  if (r.csrf === 'right') lines.push(`X-Pillion-CSRF: ${csrf}`);
  if (r.csrf === 'wrong') lines.push(`X-Pillion-CSRF: ${csrf.slice(1)}x`);
  const body = Buffer.from(r.body ?? '');
  if (r.body !== undefined) lines.push(`Content-Length: ${body.length}`);
  lines.push('Connection: close');
  return { text: `${lines.join('\r\n')}\r\n\r\n${r.body ?? ''}`, host };
}

test('every request gets the answer the router rules give, and actions run only when allowed', async () => {
  await fuzz(
    'admin router (requests)',
    requestArb,
    async (r) => {
      // The event stream never ends by itself: its status line is checked, then it is cut.
      const { text, host } = rawRequest(r);
      const want = expected(r, host);
      const before = actionsRun.length;
      const stream =
        want.status === 200 &&
        r.method === 'GET' &&
        r.path.split(/[?#]/)[0].endsWith('/logs/stream');
      const got = stream ? await firstStatus(text) : await send(text);
      assert.equal(got.status, want.status, `${text.split('\r\n\r\n')[0]}\n→ ${got.status}`);
      assert.deepEqual(actionsRun.slice(before), want.action ? [want.action] : []);
      if (!stream && want.status >= 400 && want.status !== 400 && r.method !== 'HEAD') {
        const body = JSON.parse(got.body) as { error: { code: string; message: string } };
        assert.match(body.error.code, /^PILLION_/);
      }
    },
    300,
  );
});

/** The status line of a response that stays open (the log stream), then the connection cut. */
function firstStatus(text: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no status line within 5 s'));
    }, 5000);
    s.on('error', () => {});
    s.on('data', (c) => {
      got += c.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(got);
      if (m) {
        clearTimeout(timer);
        s.destroy();
        resolve({ status: Number(m[1]), body: '' });
      }
    });
    s.write(text);
  });
}

const bytesArb = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  // A valid request without the CSRF value, with random bytes spliced in somewhere.
  fc
    .tuple(
      fc.constantFrom(...ACTIONS, ...READS, ...PUBLIC),
      fc.nat(),
      fc.uint8Array({ minLength: 1, maxLength: 20 }),
    )
    .map(([path, at, junk]) => {
      const head = Buffer.from(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${'P'}\r\nAuthorization: Bearer T\r\nContent-Length: 2\r\n\r\n{}`,
      );
      const i = at % (head.length + 1);
      return Buffer.concat([head.subarray(0, i), Buffer.from(junk), head.subarray(i)]);
    }),
);

test('random bytes never run an action, never get a 5xx, and the listener keeps answering', async () => {
  await fuzz(
    'admin router (random bytes)',
    bytesArb,
    async (raw) => {
      const bytes = Buffer.from(
        raw
          .toString('latin1')
          .replace(':P\r\n', `:${port}\r\n`)
          .replace('Bearer T', `Bearer ${token}`),
        'latin1',
      );
      const before = actionsRun.length;
      const got = await send(bytes);
      assert.ok(got.status < 500, `${JSON.stringify(bytes.toString('latin1'))} → ${got.status}`);
      assert.equal(actionsRun.length, before, 'an action ran without the CSRF value');
      const health = await send(
        `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(health.status, 200);
    },
    200,
  );
});
