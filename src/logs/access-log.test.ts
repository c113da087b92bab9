import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ACCESS_FIELDS } from '../core/access-fields.ts';
import { LogOutput } from '../core/log.ts';
import {
  type AccessEntry,
  type AccessLogOptions,
  clfTime,
  createAccessLog,
  millisText,
} from './access-log.ts';
import { cut, looksSecret, redactHeaders, redactQuery } from './redact.ts';

function logOf(opts: Partial<AccessLogOptions>) {
  const chunks: string[] = [];
  const out = new LogOutput(
    new Writable({
      decodeStrings: false,
      write(c: string, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
  );
  return { log: createAccessLog(out, opts), lines: () => chunks.join('').trimEnd().split('\n') };
}

const ENTRY: AccessEntry = {
  method: 'GET',
  path: '/search?q=cats&token=s3cret&page=2',
  status: 200,
  durationMs: 12.34567,
  bytes: 1234,
  protocol: 'HTTP/1.1',
  remote: '127.0.0.1',
  requestId: 'req-1',
  headers: {
    host: 'example.test',
    authorization: 'Bearer s3cret',
    cookie: 'session=s3cret',
    'set-cookie': ['a=s3cret'],
    'proxy-authorization': 'Basic s3cret',
    referer: 'https://ref.test/',
    'user-agent': 'curl/8.0 "quoted"',
  },
};

describe('access log', () => {
  test('default JSON keeps the documented shape', () => {
    const { log, lines } = logOf({});
    log(ENTRY);
    const rec = JSON.parse(lines()[0]);
    assert.deepEqual(Object.keys(rec), [
      'time',
      'level',
      'source',
      'pid',
      'msg',
      'method',
      'path',
      'status',
      'duration_ms',
      'bytes',
      'protocol',
      'remote',
      'request_id',
    ]);
    assert.equal(rec.duration_ms, 12.346);
    assert.equal(rec.source, 'access');
  });

  test('an egress line adds its service, upstream and attempts after error; ingress has none', () => {
    const { log, lines } = logOf({});
    log({
      ...ENTRY,
      source: 'egress-access',
      status: 502,
      error: 'PILLION_EGRESS_RESET',
      service: 'billing',
      upstream: '10.0.0.7:443',
      attempts: 2,
    });
    const rec = JSON.parse(lines()[0]);
    assert.deepEqual(Object.keys(rec).slice(-5), [
      'request_id',
      'error',
      'service',
      'upstream',
      'attempts',
    ]);
    assert.deepEqual(
      [rec.source, rec.service, rec.upstream, rec.attempts],
      ['egress-access', 'billing', '10.0.0.7:443', 2],
    );
  });

  test('a JSON field list picks and orders fields; 5xx is error', () => {
    const { log, lines } = logOf({ fields: ['status', 'level', 'user_agent', 'referer', 'error'] });
    log({ ...ENTRY, status: 502, error: 'PILLION_APP_UNREACHABLE: ECONNREFUSED' });
    assert.deepEqual(JSON.parse(lines()[0]), {
      status: 502,
      level: 'error',
      user_agent: 'curl/8.0 "quoted"',
      referer: 'https://ref.test/',
      error: 'PILLION_APP_UNREACHABLE: ECONNREFUSED',
    });
    assert.throws(() => logOf({ fields: ['nope'] }), RangeError);
  });

  test('a request cut at the drain deadline is warn, whether a 503 or a status sent', () => {
    const { log, lines } = logOf({ fields: ['status', 'grpc_status', 'level'] });
    log({ ...ENTRY, status: 503, error: 'PILLION_DRAIN_TIMEOUT' });
    log({ ...ENTRY, status: 200, grpcStatus: 14, error: 'PILLION_DRAIN_TIMEOUT' });
    log({ ...ENTRY, status: 503, error: 'PILLION_APP_NOT_READY' });
    assert.deepEqual(
      lines().map((l) => JSON.parse(l).level),
      ['warn', 'warn', 'error'],
    );
  });

  test('a JSON line with every field writes them in the order of the one list', () => {
    const { log, lines } = logOf({ fields: ACCESS_FIELDS });
    log({
      ...ENTRY,
      grpcStatus: 0,
      error: 'x',
      heldMs: 1.5,
      service: 's',
      upstream: 'h:1',
      attempts: 1,
    });
    // `worker` is written only by a worker's access log.
    assert.deepEqual(Object.keys(JSON.parse(lines()[0])), ACCESS_FIELDS.slice(0, -1));
  });

  test('Common and Combined Log Format', () => {
    const common = logOf({ format: 'common' });
    common.log(ENTRY);
    common.log({ ...ENTRY, bytes: 0, status: 304, path: '/a "b"' });
    const [a, b] = common.lines();
    assert.match(
      a,
      /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/search\?q=cats&token=\[REDACTED\]&page=2 HTTP\/1\.1" 200 1234$/,
    );
    assert.match(b, /"GET \/a \\"b\\" HTTP\/1\.1" 304 -$/);
    const combined = logOf({ format: 'combined' });
    combined.log(ENTRY);
    assert.match(
      combined.lines()[0],
      /200 1234 "https:\/\/ref\.test\/" "curl\/8\.0 \\"quoted\\""$/,
    );
    assert.equal(clfTime(new Date(Date.UTC(2026, 10, 6, 1, 2, 3))), '06/Nov/2026:01:02:03 +0000');
  });

  test('secrets never appear: headers and configured query parameters are redacted', () => {
    for (const format of ['json', 'common', 'combined'] as const) {
      const { log, lines } = logOf({
        format,
        fields: ['msg', 'path', 'headers', 'referer', 'user_agent'],
        redactQuery: ['token'],
      });
      log(ENTRY);
      const text = lines().join('\n');
      assert.ok(!text.includes('s3cret'), `${format}: ${text}`);
      assert.ok(text.includes('token=[REDACTED]'), format);
      assert.ok(text.includes('q=cats'), format);
    }
    const { log, lines } = logOf({ fields: ['headers'] });
    log(ENTRY);
    const h = JSON.parse(lines()[0]).headers;
    assert.equal(h.authorization, '[REDACTED]');
    assert.equal(h.cookie, '[REDACTED]');
    assert.equal(h['set-cookie'], '[REDACTED]');
    assert.equal(h['proxy-authorization'], '[REDACTED]');
    assert.equal(h.host, 'example.test');
  });

  test('redactQuery handles encodings, repeats, fragments and no query', () => {
    const names = new Set(['token', 'api key']);
    assert.equal(redactQuery('/a', names), '/a');
    assert.equal(redactQuery('/a?x=1', names), '/a?x=1');
    assert.equal(
      redactQuery('/a?token=1&token=2&api%20key=k&api+key=k2&to%6Ben=3#frag', names),
      '/a?token=[REDACTED]&token=[REDACTED]&api%20key=[REDACTED]&api+key=[REDACTED]&to%6Ben=[REDACTED]#frag',
    );
    assert.equal(redactQuery('/a?token&%zz=1', names), '/a?token=[REDACTED]&%zz=1');
    assert.deepEqual(redactHeaders({ Authorization: 'x', a: 'b' } as never), {
      Authorization: '[REDACTED]',
      a: 'b',
    });
  });
});

test('secret-looking query values are redacted by default, in the path, msg, referer and CLF', () => {
  const secret = 'c4n4ry';
  const names = [
    'token',
    'access_token',
    'refresh_token',
    'id_token',
    'key',
    'api_key',
    'apikey',
    'password',
    'passwd',
    'secret',
    'client_secret',
    'sig',
    'signature',
    'code',
    'auth',
    'session',
    'X-Amz-Signature',
    'Upload_Token',
    'db-password',
  ];
  for (const n of names) assert.ok(looksSecret(n), n);
  for (const n of ['q', 'page', 'keyword', 'tokens', 'codec', 'sort'])
    assert.ok(!looksSecret(n), n);
  const path = `/p?q=1&${names.map((n) => `${encodeURIComponent(n)}=${secret}`).join('&')}`;
  for (const format of ['json', 'common', 'combined'] as const) {
    const { log, lines } = logOf({ format, fields: ['msg', 'path', 'referer', 'headers'] });
    log({ ...ENTRY, path, headers: { referer: `https://r.test${path}` } });
    const text = lines().join('\n');
    assert.ok(!text.includes(secret), `${format}: ${text}`);
    assert.ok(text.includes('q=1&token=[REDACTED]'), format);
  }
});

test('long paths are cut with a marker; a refused request logs only the start of its target', () => {
  const { log, lines } = logOf({ fields: ['path', 'msg'], maxPath: 100 });
  const long = `/${'a'.repeat(9000)}?token=zz`;
  log({ ...ENTRY, path: long });
  log({ ...ENTRY, path: long, status: 414, error: 'PILLION_URI_TOO_LONG' });
  log({ ...ENTRY, path: '/short?x=1', status: 400, error: 'PILLION_REQUEST_INVALID' });
  const [a, b, c] = lines().map((l) => JSON.parse(l));
  const logged = redactQuery(long, new Set());
  assert.equal(a.path, `${logged.slice(0, 100)}...[cut ${logged.length - 100} chars]`);
  assert.equal(b.path, `/${'a'.repeat(63)}...[cut 8937 chars]?[query not logged]`);
  assert.equal(b.msg, `GET ${b.path} 414`, 'the msg carries the cut path too');
  assert.equal(c.path, '/short?[query not logged]');
  assert.equal(cut('abc', 3), 'abc');
});

test('enabled: false writes no access line', () => {
  const { log, lines } = logOf({ enabled: false });
  log(ENTRY);
  assert.deepEqual(lines(), ['']);
});

test('the time field is ISO 8601 with milliseconds, as toISOString writes it', () => {
  const { log, lines } = logOf({ fields: ['time'] });
  for (let i = 0; i < 50; i++) {
    const before = Date.now();
    log(ENTRY);
    const t = JSON.parse(lines().at(-1) as string).time as string;
    assert.match(t, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ms = Date.parse(t);
    assert.ok(ms >= before && ms <= Date.now(), t);
  }
});

test('the worker field is written only by a worker’s access log', () => {
  const one = logOf({});
  one.log(ENTRY);
  assert.equal('worker' in JSON.parse(one.lines()[0]), false);
  const w = logOf({ worker: 2 });
  w.log(ENTRY);
  const rec = JSON.parse(w.lines()[0]);
  assert.equal(rec.worker, 2);
  assert.equal(Object.keys(rec).at(-1), 'worker');
  const picked = logOf({ worker: 1, fields: ['worker', 'status'] });
  picked.log(ENTRY);
  assert.deepEqual(JSON.parse(picked.lines()[0]), { worker: 1, status: 200 });
});

test('a JSON line is what JSON.stringify writes of its fields, whatever characters they hold', () => {
  // The line is built as a string (access-log.ts); JSON.stringify of the same record is the
  // reference: quotes, backslashes, control characters, lone and paired surrogates, numbers.
  const text = fc.string({ unit: 'binary', maxLength: 40 });
  fc.assert(
    fc.property(
      fc.record({
        method: text,
        path: text.map((t) => `/${t}`),
        status: fc.integer({ min: 100, max: 599 }),
        durationMs: fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.constant(Number.NaN)),
        bytes: fc.nat(),
        protocol: text,
        remote: text,
        requestId: text,
        error: fc.option(text, { nil: undefined }),
        headers: fc.constant({ 'user-agent': 'ua "1"', referer: '/r\u2028' }),
      }),
      (e) => {
        const { log, lines } = logOf({ fields: [...ACCESS_FIELDS.filter((f) => f !== 'worker')] });
        log(e);
        const [line] = lines();
        const rec = JSON.parse(line as string) as Record<string, unknown>;
        assert.equal(line, JSON.stringify(rec));
        assert.equal(rec.method, e.method);
        assert.equal(rec.remote, e.remote);
        assert.equal(rec.error, e.error);
        assert.equal(
          rec.duration_ms,
          Number.isFinite(e.durationMs) ? Math.round(e.durationMs * 1000) / 1000 : null,
        );
      },
    ),
    { seed: 12, numRuns: 300 },
  );
});

test('duration_ms is written as the double rounded to the microsecond would be', () => {
  // millisText makes the text from integers; the reference is the number's own form.
  const ref = (ms: number): string => JSON.stringify(Math.round(ms * 1000) / 1000);
  for (const ms of [0, -0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.12, 0.102, 1, 12.5, 999.999, 1e6]) {
    assert.equal(millisText(ms), ref(ms), String(ms));
  }
  for (const ms of [-1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e13, 1e20]) {
    assert.equal(millisText(ms), ref(ms) ?? 'null', String(ms));
  }
  fc.assert(
    fc.property(
      fc.oneof(
        fc.double({ min: 0, max: 1e12, noNaN: true }),
        fc.integer({ min: 0, max: 1e9 }).map((us) => us / 1000),
        fc.double({ min: 0, max: 10, noNaN: true }),
      ),
      (ms) => assert.equal(millisText(ms), ref(ms)),
    ),
    { seed: 7, numRuns: 2000 },
  );
});
