// Ten reloads, each changing every field the schema marks live (the app's config, secrets and
// timings; the listen address, every limit, the certificates, the TLS policy and client
// certificates; the egress services and forward proxy; every log setting; the drain), while an
// open-loop load sends 500 requests a second over h1 and h2 on a fixed schedule: not one request
// fails, every one sent is answered, each reload names every live field, and after each one the
// new values are seen in force: a limit changes what is refused, a new certificate and policy
// are served at the new address, the log lines change their level, format, file and collector.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { connect as h2Connect } from 'node:http2';
import { Agent } from 'node:https';
import { type AddressInfo, connect as tcpConnect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONFIG_SCHEMA, type SchemaNode } from '../../src/config/schema-json.ts';
import { makePki } from '../egress/certs.ts';
import { startUpstream } from '../egress/upstream.ts';
import { Pki } from '../fixtures/client-pki.ts';
import { startReceiver } from '../fixtures/otlp-receiver.ts';
import { handshake, makeCert } from '../tls/tls-harness.ts';
import { adminRequest } from './admin-client.ts';
import {
  eventually,
  freePort,
  h1Request,
  type Reply,
  startPacedLoad,
  startPillion,
  tempDir,
} from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));
const RELOADS = 10;
/** The load's schedule: request i at t0 + i × 2 ms (500 a second), at most this many. */
const INTERVAL_MS = 2;
const MAX_REQUESTS = 60_000;

/** Every leaf field the schema marks live (`x-live`, inherited), as config/diff.ts reads it. */
function liveFields(): string[] {
  const out: string[] = [];
  const visit = (s: SchemaNode, path: string, live: boolean): void => {
    const here = s['x-live'] === true ? true : s['x-live'] === false ? false : live;
    if (s.type === 'object' && s.properties && s['x-live'] === undefined) {
      for (const [k, sub] of Object.entries(s.properties))
        visit(sub, path ? `${path}.${k}` : k, here);
      return;
    }
    if (here && s['x-app-restart'] !== true) out.push(path);
  };
  visit(CONFIG_SCHEMA, '', false);
  return out.sort();
}

test(`${RELOADS} reloads changing every live field under a paced 500 req/s: 0 failed requests`, async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.yaml');
  const q = JSON.stringify;
  writeFileSync(join(dir, 's0.txt'), 'zero');
  writeFileSync(join(dir, 's1.txt'), 'one');
  // Two default pairs with encrypted keys, two pairs for the SNI name sni.test.
  const srv = [0, 1].map((i) => {
    writeFileSync(join(dir, `pass${i}.txt`), `pass-${i}\n`);
    return makeCert(dir, `srv${i}`, { dns: ['localhost'], passphrase: `pass-${i}` });
  });
  const sni = [0, 1].map((i) => makeCert(dir, `sni${i}`, { dns: ['sni.test'] }));
  const fp = (f: string) => new X509Certificate(readFileSync(f)).fingerprint256;
  // Client certificates: the load's from CA one (trusted by both bundles), a probe from CA two
  // (trusted by the second bundle only).
  const pki = new Pki(join(dir, 'pki'));
  const ca1 = pki.root('ca1', '/CN=CA One');
  const ca2 = pki.root('ca2', '/CN=CA Two');
  writeFileSync(join(dir, 'ca0.pem'), ca1.cert);
  writeFileSync(join(dir, 'ca1.pem'), ca1.cert + ca2.cert);
  const loadCert = pki.issue('load', {
    subj: '/CN=load',
    issuer: 'ca1',
    san: 'DNS:load.test,URI:spiffe://t/load,email:load@t.test',
  });
  const fromCa2 = pki.issue('from-ca2', { subj: '/CN=two', issuer: 'ca2', san: 'DNS:load.test' });
  // One for each allow-list, each named on the second lists only.
  const listed = {
    dns: pki.issue('other', { subj: '/CN=other', issuer: 'ca1', san: 'DNS:other.test' }),
    uri: pki.issue('by-uri', { subj: '/CN=u', issuer: 'ca1', san: 'URI:spiffe://t/x' }),
    email: pki.issue('by-email', { subj: '/CN=e', issuer: 'ca1', san: 'email:x@t.test' }),
    subject: pki.issue('by-subject', { subj: '/CN=x', issuer: 'ca1' }),
  };
  // Egress: two upstreams the service alternates between, a plain server for the forward proxy.
  const epki = makePki();
  const up = [await startUpstream('one', epki), await startUpstream('two', epki)];
  const plain = createHttpServer((_req, res) => res.end('plain'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const plainPort = (plain.address() as AddressInfo).port;
  const rx = [await startReceiver(), await startReceiver()];
  t.after(async () => {
    for (const u of up) await u.close();
    for (const r of rx) await r.close();
    plain.close();
  });
  const ports: number[] = [];
  for (let n = 0; n <= RELOADS; n++) ports.push(await freePort());
  const log = (n: number) => join(dir, `p${n}.log`);
  const odd = (n: number) => n % 2 === 1;
  const config = (n: number) =>
    [
      'app:',
      `  command: [${q(process.execPath)}, ${q(API_APP)}]`,
      `  config: { generation: ${n} }`,
      `  secrets: { s: { file: s${n % 2}.txt } }`,
      `  backoff: { base: ${1 + n}s, max: ${300 + n}s, reset: ${600 + n}s }`,
      `  restart_window: ${10 + n}s`,
      `  restart_on_change: ${odd(n)}`,
      `  stop_timeout: ${5 + n}s`,
      `  ready_timeout: ${10 + n}s`,
      `  readiness: { interval: ${1 + (n % 2)}s }`,
      `  liveness: { tcp: true, interval: ${5 + n}s, failures: ${3 + n} }`,
      `  startup_grace: ${n}s`,
      `  probe_timeout: ${1 + n}s`,
      'ingress:',
      `  listen: 127.0.0.1:${ports[n]}`,
      `  forwarded_for: ${odd(n) ? 'append' : 'replace'}`,
      '  tls:',
      `    cert: ${q(srv[n % 2].cert)}`,
      `    key: ${q(srv[n % 2].key)}`,
      `    passphrase: { file: pass${n % 2}.txt }`,
      `    certificates: [{ cert: ${q(sni[n % 2].cert)}, key: ${q(sni[n % 2].key)}, names: [sni.test] }]`,
      `    profile: ${odd(n) ? 'modern' : 'intermediate'}`,
      `    min_version: ${odd(n) ? 'TLSv1.3' : 'TLSv1.2'}`,
      `    ciphers: ${odd(n) ? 'ECDHE-ECDSA-AES256-GCM-SHA384' : 'ECDHE-ECDSA-AES128-GCM-SHA256'}`,
      `    groups: [${odd(n) ? 'X25519, P-256' : 'X25519, P-256, P-384'}]`,
      '    client:',
      `      ca: ca${n % 2}.pem`,
      `      mode: ${odd(n) ? 'optional' : 'require'}`,
      `      header: x-client-${odd(n) ? 'b' : 'a'}`,
      '      allow:',
      `        dns: [load.test${odd(n) ? ', other.test' : ''}]`,
      `        uri: [spiffe://t/load${odd(n) ? ', spiffe://t/x' : ''}]`,
      `        email: [load@t.test${odd(n) ? ', x@t.test' : ''}]`,
      `        subject: [CN=load${odd(n) ? ', CN=x' : ''}]`,
      '  limits:',
      `    max_header_bytes: ${4 + n}KiB`,
      `    max_headers: ${40 + 5 * n}`,
      `    max_uri_bytes: ${2 + n}KiB`,
      `    max_body_bytes: ${20 + n}KiB`,
      `    max_connections: ${1000 + n}`,
      `    max_connections_per_source: ${500 + n}`,
      `    max_concurrent_streams: ${100 + n}`,
      `    headers_timeout: ${15 + n}s`,
      `    body_idle_timeout: ${30 + n}s`,
      `    body_min_bytes: ${1 + n}KiB`,
      `    keep_alive_timeout: ${5 + n}s`,
      `    upstream_timeout: ${60 + n}s`,
      `    tunnel_idle_timeout: ${5 + n}m`,
      `    websocket_max_frame_bytes: ${16 + n}MiB`,
      `    websocket_max_message_bytes: ${32 + n}MiB`,
      `    underscore_headers: ${odd(n) ? 'reject' : 'drop'}`,
      'egress:',
      '  listen: 127.0.0.1:0',
      '  services:',
      `    svc: { endpoints: [${up[n % 2].url}], tls: { ca: ${q(epki.caFile)} } }`,
      `  forward_proxy: { allow: [${odd(n) ? 'nowhere.test' : `127.0.0.1:${plainPort}`}] }`,
      'logs:',
      // Stdout carries human lines on odd reloads and nothing on even ones; the file sink is
      // always JSON, and the test reads it.
      `  format: ${odd(n) ? 'human' : 'json'}`,
      `  stdout: ${odd(n)}`,
      `  level: ${odd(n) ? 'warn' : 'info'}`,
      `  file: { path: ${q(log(n))}, max_size: ${100 + n}MiB, keep: ${5 + n} }`,
      `  buffer: ${16 + n}MiB`,
      `  when_full: ${odd(n) ? 'drop' : 'block'}`,
      `  otlp: { endpoint: ${q(rx[n % 2].url)} }`,
      'drain:',
      `  delay: ${n * 10}ms`,
      `  timeout: ${10 + n}s`,
      '',
    ].join('\n');
  writeFileSync(file, config(0));
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());

  /** Pillion's JSON lines in the n-th log file (the file sink is always JSON). */
  const lines = (n: number): Record<string, unknown>[] =>
    existsSync(log(n))
      ? readFileSync(log(n), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  const inFile = async (
    n: number,
    match: (l: Record<string, unknown>) => boolean,
    what: string,
  ) => {
    let hit: Record<string, unknown> | undefined;
    await eventually(
      () => {
        hit = lines(n).find(match);
        return hit !== undefined;
      },
      30_000,
      what,
    );
    return hit as Record<string, unknown>;
  };
  await inFile(0, (l) => l.msg === 'app ready', 'app ready');
  const adminLine = await inFile(0, (l) => l.msg === 'admin listening' && 'admin' in l, 'admin');
  const [adminHost, adminPort] = String(adminLine.admin).split(':');
  const admin = {
    host: adminHost,
    port: Number(adminPort),
    token: readFileSync(String(adminLine.token_file), 'utf8').trim(),
  };
  const egressUrl = String(
    (await inFile(0, (l) => String(l.msg).startsWith('egress port'), 'egress')).url,
  );
  const egress = new URL(egressUrl);
  const applied = async (): Promise<number> => {
    const m = (await adminRequest(admin, '/metrics')).body;
    return Number(/pillion_config_reloads_total\{result="applied"\} (\d+)/.exec(m)?.[1] ?? 0);
  };

  // Probes, each on a fresh connection, with the load's client certificate unless told.
  type Creds = { cert: string; key: string } | undefined;
  const creds = (c: Creds) => new Agent({ keepAlive: false, rejectUnauthorized: false, ...c });
  const probe = async (
    port: number,
    path: string,
    opts: { creds?: Creds; method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<Reply | string> => {
    const agent = creds('creds' in opts ? opts.creds : loadCert);
    try {
      return await h1Request(port, path, { ...opts, agent });
    } catch (err) {
      return `refused: ${(err as Error).message}`;
    } finally {
      agent.destroy();
    }
  };
  const status = async (...a: Parameters<typeof probe>) => {
    const r = await probe(...a);
    return typeof r === 'string' ? 'refused' : r.status;
  };
  const served = async (port: number, opts: Parameters<typeof handshake>[1]) => {
    const r = await handshake(port, { ...loadCert, ...opts });
    const got = r.socket?.getPeerX509Certificate()?.fingerprint256 ?? `no handshake: ${r.error}`;
    r.socket?.destroy();
    return got;
  };
  const egressGet = (path: string, host = egress.hostname, port = Number(egress.port)) =>
    new Promise<Reply>((resolve, reject) => {
      const req = httpRequest({ host, port, path, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });

  const live = liveFields();
  let current = ports[0];
  const load = startPacedLoad({
    port: () => current,
    intervalMs: INTERVAL_MS,
    max: MAX_REQUESTS,
    tls: loadCert,
  });
  try {
    for (let n = 1; n <= RELOADS; n++) {
      const what = `reload ${n}`;
      writeAtomically(file, config(n));
      await eventually(async () => (await applied()) === n, 30_000, what);
      // The load follows the listener to its new address; the old one takes no new connection.
      current = ports[n];
      const port = ports[n];
      const oldRefuses = await new Promise<boolean>((resolve) => {
        const s = tcpConnect(ports[n - 1], '127.0.0.1');
        s.once('connect', () => {
          s.destroy();
          resolve(false);
        });
        s.once('error', () => resolve(true));
      });
      assert.ok(oldRefuses, `${what}: the old listener is closed to new connections`);

      // The fields named: the whole live set (logged at info, so on even reloads only).
      if (!odd(n)) {
        const line = await inFile(n, (l) => l.msg === 'config applied', `${what} applied`);
        assert.deepEqual([...(line.fields as string[])].sort(), live, what);
      }

      // The app's config and secrets.
      const cfg = await probe(port, '/config');
      assert.equal(typeof cfg === 'string' ? cfg : JSON.parse(cfg.body).generation, n, what);
      const secret = await probe(port, '/secret/s');
      assert.equal(typeof secret === 'string' ? secret : secret.body, odd(n) ? 'one' : 'zero');

      // Certificates: the new default pair (its key decrypted with the new passphrase) and the
      // new SNI pair.
      assert.equal(await served(port, { servername: 'localhost' }), fp(srv[n % 2].cert), what);
      assert.equal(await served(port, { servername: 'sni.test' }), fp(sni[n % 2].cert), what);
      // The policy: TLS 1.2 only on even reloads, with their cipher; P-384 only on even ones.
      const tls12 = (ciphers: string) =>
        served(port, { servername: 'localhost', maxVersion: 'TLSv1.2', ciphers });
      const p384 = await served(port, { servername: 'localhost', ecdhCurve: 'P-384' });
      if (odd(n)) {
        assert.match(await tls12('ECDHE-ECDSA-AES256-GCM-SHA384'), /no handshake/, what);
        assert.match(p384, /no handshake/, what);
      } else {
        assert.equal(await tls12('ECDHE-ECDSA-AES128-GCM-SHA256'), fp(srv[0].cert), what);
        assert.match(await tls12('ECDHE-ECDSA-AES256-GCM-SHA384'), /no handshake/, what);
        assert.equal(p384, fp(srv[0].cert), what);
      }
      // Client certificates: none is let in only when optional; CA two's only with its bundle;
      // each of the others only when listed; the identity arrives in the new header.
      assert.equal(await status(port, '/', { creds: undefined }), odd(n) ? 200 : 'refused');
      assert.equal(await status(port, '/', { creds: fromCa2 }), odd(n) ? 200 : 'refused');
      for (const [list, c] of Object.entries(listed))
        assert.equal(await status(port, '/', { creds: c }), odd(n) ? 200 : 'refused', list);
      const echo = await probe(port, '/headers', { headers: { 'x-forwarded-for': '203.0.113.9' } });
      assert.ok(typeof echo !== 'string', `${what}: ${echo}`);
      const seen = JSON.parse(echo.body) as Record<string, string>;
      assert.match(seen[`x-client-${odd(n) ? 'b' : 'a'}`] ?? '', /DNS=load\.test/, what);
      assert.equal(seen[`x-client-${odd(n) ? 'a' : 'b'}`], undefined, what);
      assert.equal(
        seen['x-forwarded-for'],
        odd(n) ? '203.0.113.9, 127.0.0.1' : '127.0.0.1',
        `${what}: forwarded_for`,
      );

      // Limits: each probe just inside the new limit would have been refused by the old one.
      const k = 1024;
      const body = (len: number) =>
        status(port, '/headers', { method: 'POST', body: 'x'.repeat(len) });
      assert.equal(await body((20 + n) * k - 512), 200, `${what}: max_body_bytes`);
      assert.equal(await body((20 + n) * k + 512), 413, `${what}: max_body_bytes`);
      const uri = (len: number) => status(port, `/${'u'.repeat(len)}`);
      assert.equal(await uri((2 + n) * k - 300), 200, `${what}: max_uri_bytes`);
      assert.equal(await uri((2 + n) * k + 300), 414, `${what}: max_uri_bytes`);
      const pad = (len: number) => status(port, '/', { headers: { 'x-pad': 'p'.repeat(len) } });
      assert.equal(await pad((4 + n) * k - 700), 200, `${what}: max_header_bytes`);
      assert.equal(await pad((4 + n) * k + 100), 431, `${what}: max_header_bytes`);
      const many = (count: number) =>
        status(port, '/', {
          headers: Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, '1'])),
        });
      assert.equal(await many(40 + 5 * n - 4), 200, `${what}: max_headers`);
      assert.equal(await many(40 + 5 * n + 2), 431, `${what}: max_headers`);
      assert.equal(
        await status(port, '/', { headers: { x_under: '1' } }),
        odd(n) ? 400 : 200,
        `${what}: underscore_headers`,
      );
      const h2 = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, ...loadCert });
      const streams = await new Promise<number | undefined>((resolve, reject) => {
        h2.once('remoteSettings', (s) => resolve(s.maxConcurrentStreams));
        h2.once('error', reject);
      });
      h2.close();
      assert.equal(streams, 100 + n, `${what}: max_concurrent_streams`);

      // Egress: the service's new endpoint; the forward proxy's new allow-list.
      assert.equal(JSON.parse((await egressGet('/svc/x')).body).from, up[n % 2].name, what);
      assert.equal(
        (await egressGet(`http://127.0.0.1:${plainPort}/`)).status,
        odd(n) ? 403 : 200,
        `${what}: forward_proxy.allow`,
      );

      // Logs: a request after the reload is in the new file, and reaches the new collector.
      assert.equal(await status(port, `/probe-${n}`), 200);
      const probeLine = await inFile(
        n,
        (l) => String(l.msg).includes(`/probe-${n} `),
        `${what}: the probe's access line in the new file`,
      );
      assert.equal(probeLine.source, 'access');
      await eventually(
        () => JSON.stringify(rx[n % 2].records).includes(`/probe-${n} `),
        30_000,
        `${what}: the probe's line at the new collector`,
      );
    }
  } finally {
    await load.stop();
  }
  const seconds = load.seconds();
  t.diagnostic(
    `${load.sent()} requests sent on a ${INTERVAL_MS} ms schedule in ${seconds.toFixed(1)} s (${(load.sent() / seconds).toFixed(0)} req/s achieved), ${load.answered()} answered (${load.followed()} of them sent again to the new address after the old one refused a new connection, ${load.resent()} GETs sent again after their pooled connection was closed as idle), across ${RELOADS} reloads; load average ${loadavg()[0].toFixed(2)}`,
  );
  assert.deepEqual(load.failures, []);
  assert.equal(load.answered(), load.sent(), 'every scheduled request was answered');
  assert.ok(load.sent() > 0);

  // The drain timings in force are the last reload's, as the stop line says.
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const stopLine = lines(RELOADS).find((l) => l.msg === 'stop signal received; draining');
  assert.equal(stopLine?.drain_delay_ms, RELOADS * 10);
  assert.equal(stopLine?.drain_timeout_ms, (10 + RELOADS) * 1000);

  // Levels and formats, read once every line is out: a warn reload wrote no info line of
  // Pillion's own; stdout carried each odd reload's probe as a human line, no even one's.
  for (let n = 1; n <= RELOADS; n++) {
    const own = lines(n).filter((l) => !/access$/.test(String(l.source)) && l.source !== 'app');
    if (odd(n))
      assert.deepEqual(
        own.filter((l) => l.level === 'info' || l.level === 'debug'),
        [],
        `reload ${n}`,
      );
    else
      assert.ok(
        own.some((l) => l.level === 'info'),
        `reload ${n}`,
      );
    const out = p.lines.filter((l) => l.msg.includes(`/probe-${n} `));
    if (odd(n)) {
      assert.equal(out.length, 1, `reload ${n}: the probe on stdout`);
      assert.equal(out[0].source, 'non-json', `reload ${n}: a human line`);
    } else assert.deepEqual(out, [], `reload ${n}: stdout is off`);
    // Each probe reached only the collector in force at the time.
    assert.equal(JSON.stringify(rx[(n + 1) % 2].records).includes(`/probe-${n} `), false);
  }
});

/** Written whole, then renamed into place: the watcher never reads half a file. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
