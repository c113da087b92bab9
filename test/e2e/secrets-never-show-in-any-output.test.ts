// S8: per-run canaries planted in a secret file, the environment, app.config and invalid
// configs, the TLS private key, client Authorization and Cookie headers, secret query values
// (on 200, 400 and 414 answers), an upstream Set-Cookie and the app's crash never show up in
// Pillion's stdout, stderr or log file, in `pillion config`, `pillion validate`, reload
// rejections, Pillion's own error bodies, /metrics or any read of the admin API (the log tail
// and the live log stream included), nor in what Pillion writes when it crashes itself
// (killed by SIGABRT or SIGSEGV while holding every secret) or fails to start after reading
// them (a TLS key that does not match or does not parse, a port in use): plain, base64 (three
// alignments), URL- or hex-encoded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { type AdminAt, adminRequest, adminStream, scrape } from './admin-client.ts';
import { APP_CMD, alive, h1Request, h2Request, MAIN, startPillion, tempDir } from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));

function canary(where: string): string {
  // '/', '+', '=' and a space make the encoded forms differ from the plain one.
  return `canary-${where}-${randomBytes(8).toString('hex')}/+= x`;
}

/**
 * The base64 text a secret has inside any longer base64 run, at each of the three byte
 * alignments it can start at: the characters that depend on the secret alone.
 */
function base64Aligned(s: string): string[] {
  return [0, 1, 2].flatMap((k) => {
    const b64 = Buffer.concat([Buffer.alloc(k, 0x41), Buffer.from(s)]).toString('base64');
    // The first group mixes the pad with the secret, the last may mix it with what follows.
    const inner = b64.slice(4, b64.length - 4);
    return [inner, inner.replace(/\+/g, '-').replace(/\//g, '_')];
  });
}

/** Every form of each canary that must not appear. */
function forms(secrets: string[]): string[] {
  const all = secrets.flatMap((s) => {
    // A canary's part before its '/' is sought alone too; a key line may begin with '/'.
    const core = s.split('/')[0] || s;
    return [
      s,
      core,
      encodeURIComponent(s),
      encodeURIComponent(s).toLowerCase(),
      Buffer.from(s).toString('base64'),
      Buffer.from(s).toString('base64url'),
      ...base64Aligned(s),
      ...base64Aligned(core),
      Buffer.from(s).toString('hex'),
      Buffer.from(core).toString('hex'),
      JSON.stringify(s).slice(1, -1),
    ];
  });
  // A form of a few characters would match by chance (a key line cut near its '/').
  return all.filter((f) => f.length >= 8);
}

function assertClean(output: string, secrets: string[], where: string): void {
  for (const f of forms(secrets)) {
    const at = output.indexOf(f);
    assert.equal(at, -1, `${where} holds ${f}: …${output.slice(Math.max(0, at - 200), at + 100)}`);
  }
}

test('secrets planted in config, env and invalid configs never show in any output', async (t) => {
  const dir = tempDir();
  const inFile = canary('file');
  const inEnv = canary('env');
  const inUrl = canary('url');
  const inConfig = canary('config');
  const inInvalid = canary('invalid');
  const all = [inFile, inEnv, inUrl, inConfig, inInvalid];
  const env = { API_KEY: inEnv, DB_URL: `postgres://u:${inUrl}@db/x`, LEAKED: inInvalid };
  writeFileSync(join(dir, 'password'), inFile);
  const cfgFile = join(dir, 'pillion.yaml');
  const good = [
    'app:',
    `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
    '  config:',
    `    db_password: ${JSON.stringify(inConfig)}`,
    '    db_url: ${DB_URL}',
    '  secrets:',
    `    db_password: { file: ${JSON.stringify(join(dir, 'password'))} }`,
    '    api_key: { env: API_KEY }',
    'ingress:',
    '  listen: 127.0.0.1:0',
    '',
  ].join('\n');
  const invalids = [
    `${good}logs: { format: ${JSON.stringify(inInvalid)} }\n`,
    good.replace('  listen: 127.0.0.1:0', `  listen: ${JSON.stringify(inInvalid)}`),
    good.replace('ingress:', 'drain:\n  timeout: ${LEAKED}\ningress:'),
    good.replace('ingress:', `state_dir: [${JSON.stringify(inInvalid)}]\ningress:`),
    `${good}admin: { token: ${JSON.stringify(inInvalid)} }\n`,
    `${good}extra: "${inInvalid}\n`, // a YAML syntax error on a line holding the secret
    good.replace('  secrets:', `  secrets:\n    "${inInvalid}": { env: X }`),
  ];

  let output = '';
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [MAIN, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, ...env },
      encoding: 'utf8',
    });
    output += r.stdout + r.stderr;
    return r.status;
  };

  // pillion config and validate, on the good file and each invalid one.
  writeFileSync(cfgFile, good);
  assert.equal(cli(['config']), 0);
  assert.equal(cli(['validate']), 0);
  for (const [i, text] of invalids.entries()) {
    const f = join(dir, `invalid-${i}.yaml`);
    writeFileSync(f, text);
    assert.equal(cli(['validate', f]), 1, `invalid ${i} is rejected`);
    assert.equal(cli(['config', f]), 1);
    assert.equal(cli(['run', '--config', f]), 1);
  }
  assertClean(output, all, 'CLI output');

  // A running Pillion: the app reads every secret; invalid reloads are rejected and logged.
  const p = startPillion(['run', '--config', cfgFile], { env });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  assert.equal((await h1Request(port, '/secret/db_password')).body, inFile);
  assert.equal((await h1Request(port, '/secret/api_key')).body, inEnv);
  assert.equal(JSON.parse((await h1Request(port, '/config')).body).db_url, env.DB_URL);
  for (const [i, text] of invalids.entries()) {
    writeFileSync(cfgFile, text);
    await p.waitForLog(
      (l) => l.msg.startsWith('config rejected') && l.rejected === i + 1,
      `rejection ${i + 1}`,
    );
  }
  // The admin surface: /metrics and every read of the API (the log tail included).
  const admin = await p.admin();
  let served = (await scrape(admin)).samples.map((x) => JSON.stringify(x)).join('\n');
  for (const path of ['status', 'stats', 'config', 'logs?n=5000']) {
    const r = await adminRequest(admin, `/api/v1/${path}`);
    assert.equal(r.status, 200, path);
    served += r.body;
  }
  assert.ok(served.includes('db_password'), 'the config is served, its secret redacted');
  assertClean(served, all, 'the admin API and /metrics');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const runOutput = p.lines.map((l) => JSON.stringify(l)).join('\n') + p.stderr();
  assert.ok(p.lines.some((l) => l.msg === 'secret read' && l.name === 'api_key'));
  assertClean(runOutput, all, 'pillion run output');
});

/**
 * A fresh RSA key and its self-signed certificate in `dir`. The key's own random base64 lines
 * are its canaries (`keySecrets`), and the DER bytes they encode, in hex (`keyHex`).
 */
function tlsPair(
  dir: string,
  name = 'tls',
): { key: string; cert: string; keySecrets: string[]; keyHex: string[] } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const gen = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  assert.equal(gen.status, 0, String(gen.stderr));
  const keyLines = readFileSync(key, 'utf8')
    .split('\n')
    .filter((l) => l.length === 64);
  const keyDer = Buffer.from(keyLines.join(''), 'base64');
  return {
    key,
    cert,
    keySecrets: [keyLines[3], keyLines[10], keyLines[20]],
    keyHex: [keyDer.subarray(100, 132).toString('hex'), keyDer.subarray(400, 432).toString('hex')],
  };
}

/**
 * Everything the admin listener serves to a reader: /metrics (Prometheus text and
 * OpenMetrics), the probes and every read of the API, the log tail at its longest.
 */
async function adminReads(admin: AdminAt): Promise<string> {
  const parts: string[] = [];
  for (const accept of ['', 'application/openmetrics-text; version=1.0.0']) {
    const r = await adminRequest(admin, '/metrics', {
      auth: false,
      headers: accept ? { accept } : {},
    });
    assert.equal(r.status, 200, '/metrics');
    parts.push(r.body);
  }
  for (const path of ['/healthz', '/readyz']) parts.push((await adminRequest(admin, path)).body);
  for (const path of ['status', 'stats', 'config', 'csrf', 'logs?n=5000']) {
    const r = await adminRequest(admin, `/api/v1/${path}`);
    assert.equal(r.status, 200, path);
    parts.push(r.body);
  }
  return parts.join('\n');
}

/** Writes `bytes` on a fresh TLS connection and reads until Pillion closes it (bounded). */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    let got = '';
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on('secureConnect', () => s.write(bytes));
    s.on('data', (c) => {
      got += c.toString('latin1');
    });
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

test('secrets in requests, responses, the TLS key and an app crash never show in any output', async (t) => {
  const dir = tempDir();
  const { key, cert, keySecrets, keyHex } = tlsPair(dir);

  const c = (where: string) => `canary-${where}-${randomBytes(8).toString('hex')}`;
  const inAuth = canary('auth');
  const inCookie = canary('cookie');
  const inSetCookie = c('setcookie');
  const inEnv = canary('env');
  const queryNames = ['token', 'access_token', 'code', 'api_key', 'password', 'sig', 'session'];
  const inQuery = Object.fromEntries(queryNames.map((n) => [n, canary(`q-${n}`)]));
  const inBad = c('bad');
  const in414 = c('uri414');
  const in414Tail = c('tail414');
  const logFile = join(dir, 'pillion.log');
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--cert',
      cert,
      '--key',
      key,
      '--log-file',
      logFile,
      '--access-log-fields',
      'time,level,source,msg,method,path,status,error,referer,user_agent,headers',
      '--',
      ...APP_CMD,
    ],
    { env: { APP_SET_COOKIE: inSetCookie, APP_TOKEN: inEnv } },
  );
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  // The live log stream, from before the first request to Pillion's stop.
  const admin = await p.admin();
  const stream = adminStream(admin, '/api/v1/logs/stream');
  t.after(() => stream.close());
  assert.equal(await stream.opened, 200);

  const query = queryNames.map((n) => `${n}=${encodeURIComponent(inQuery[n])}`).join('&');
  const secretHeaders = {
    authorization: `Bearer ${inAuth}`,
    cookie: `sid=${inCookie}`,
    referer: `https://ref.test/?${query}`,
  };
  const bodies: string[] = [];
  const ok = await h1Request(port, `/headers?q=1&${query}`, { headers: secretHeaders });
  assert.equal(ok.status, 200);
  assert.equal(
    JSON.parse(ok.body).authorization,
    `Bearer ${inAuth}`,
    'the app gets the real value',
  );
  const sc = await h1Request(port, '/set-cookie');
  assert.match(String(sc.headers['set-cookie']), new RegExp(inSetCookie));
  const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  t.after(() => session.close());
  assert.equal((await h2Request(session, `/h2?${query}`, { headers: secretHeaders })).status, 200);
  // A 400 (two Host headers) and a 414 (a 9 KB target), each with secrets in the target.
  const bad = await rawExchange(
    port,
    `GET /x?token=${inBad}&v=${inBad} HTTP/1.1\r\nHost: a\r\nHost: b\r\nAuthorization: Basic ${inAuth}\r\n\r\n`,
  );
  assert.match(bad, /^HTTP\/1\.1 400 /);
  const long = await rawExchange(
    port,
    `GET /y?sig=${in414}&pad=${'p'.repeat(9000)}&v=${in414Tail} HTTP/1.1\r\nHost: a\r\n\r\n`,
  );
  assert.match(long, /^HTTP\/1\.1 414 /);
  bodies.push(bad, long);
  // The app crashes (exit 3) and is restarted: its exit is reported, its env is not.
  await h1Request(port, '/exit?code=3').catch(() => undefined);
  await p.waitForLog((l) => /exit/.test(l.msg) && l.source === 'supervisor', 'the app exit');
  await p.waitForLog(
    (l) => l.msg === 'app ready' && p.lines.filter((x) => x.msg === 'app ready').length > 1,
    'restart',
  );
  const after = await h1Request(port, '/after');
  assert.equal(after.status, 200);

  await p.waitForLog((l) => l.source === 'access' && l.status === 414, 'the 414 access line');
  // The admin surface after every request: /metrics and each read of the API.
  const served = await adminReads(admin);
  assert.ok(served.includes('/headers?q=1&token=[REDACTED]'), 'the log tail holds the requests');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const streamed = stream.received();
  assert.ok(streamed.includes('[query not logged]'), 'the log stream carried the 414 line');
  const access = p.lines.filter((l) => l.source === 'access');
  const line414 = access.find((l) => l.status === 414);
  assert.ok(
    line414 && String(line414.path).length < 120,
    `the 414 target is cut: ${line414?.path}`,
  );
  assert.equal(line414.path, '/y?[query not logged]');
  assert.ok(
    access.some((l) => l.status === 400),
    'the 400 has its access line',
  );
  assert.ok(access.some((l) => String(l.path).startsWith('/headers?q=1&token=[REDACTED]')));
  const everything = [
    p.lines.map((l) => JSON.stringify(l)).join('\n'),
    p.stderr(),
    readFileSync(logFile, 'utf8'),
    ...bodies.map((b) => b.slice(b.indexOf('\r\n\r\n'))),
    served,
    streamed,
  ].join('\n');
  assertClean(
    everything,
    [
      inAuth,
      inCookie,
      inSetCookie,
      inEnv,
      inBad,
      in414,
      in414Tail,
      ...Object.values(inQuery),
      ...keySecrets,
    ],
    'pillion run output, /metrics, the admin API and the log stream',
  );
  for (const h of keyHex) assert.equal(everything.includes(h), false, 'key bytes in hex');
});

test('a crash of Pillion itself, or a failed start after it read the secrets, shows none', async (t) => {
  const dir = tempDir();
  const { key, cert, keySecrets, keyHex } = tlsPair(dir);
  const inFile = canary('file');
  const inEnv = canary('env');
  const inConfig = canary('config');
  const inAuth = canary('auth');
  const inCookie = canary('cookie');
  const inToken = canary('token');
  const env = { API_KEY: inEnv };
  writeFileSync(join(dir, 'password'), inFile);
  const config = (listen: string) =>
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
      '  config:',
      `    db_password: ${JSON.stringify(inConfig)}`,
      '  secrets:',
      `    db_password: { file: ${JSON.stringify(join(dir, 'password'))} }`,
      '    api_key: { env: API_KEY }',
      'ingress:',
      `  listen: ${listen}`,
      '',
    ].join('\n');
  const cfgFile = join(dir, 'pillion.yaml');
  writeFileSync(cfgFile, config('127.0.0.1:0'));
  const secrets = [inFile, inEnv, inConfig, inAuth, inCookie, inToken, ...keySecrets];
  let output = '';

  // Killed by a signal it does not handle, while it holds every secret: the app has read them,
  // and a request carrying credentials has been proxied. No core file is written (ulimit).
  const noCore = ['/bin/sh', '-c', 'ulimit -c 0 && exec "$0" "$@"'];
  for (const signal of ['SIGABRT', 'SIGSEGV'] as const) {
    const p = startPillion(['run', '--config', cfgFile, '--cert', cert, '--key', key], {
      env,
      wrap: noCore,
    });
    t.after(() => p.kill());
    const port = await p.port();
    const ready = await p.ready();
    const appPid = Number(ready.app_pid ?? p.lines.find((l) => l.msg === 'app started')?.app_pid);
    assert.ok(appPid > 0, 'the app pid is logged');
    t.after(() => {
      if (alive(appPid)) process.kill(appPid, 'SIGKILL');
    });
    assert.equal((await h1Request(port, '/secret/db_password')).body, inFile);
    assert.equal((await h1Request(port, '/secret/api_key')).body, inEnv);
    const r = await h1Request(port, `/headers?token=${encodeURIComponent(inToken)}`, {
      headers: { authorization: `Bearer ${inAuth}`, cookie: `sid=${inCookie}` },
    });
    assert.equal(r.status, 200);
    await p.waitForLog((l) => l.source === 'access' && l.status === 200, 'the access line');
    process.kill(Number(p.proc.pid), signal);
    await p.exited;
    assert.equal(p.proc.signalCode, signal, `Pillion died of ${signal}`);
    // The app outlives a Pillion that could not stop it: ended here, by its PID.
    if (alive(appPid)) process.kill(appPid, 'SIGKILL');
    assert.ok(p.lines.some((l) => l.msg === 'secret read' && l.name === 'db_password'));
    output += p.lines.map((l) => JSON.stringify(l)).join('\n') + p.stderr();
  }

  // Fatal errors at start, after the config with its secrets was read: a key that is not the
  // certificate's, a key that does not parse (a line cut out of it), the HTTPS port in use.
  const other = tlsPair(dir, 'other');
  const cutKey = join(dir, 'cut.key');
  const keyText = readFileSync(key, 'utf8').split('\n');
  writeFileSync(cutKey, [...keyText.slice(0, 8), ...keyText.slice(9)].join('\n'));
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => blocker.close());
  const held = `127.0.0.1:${(blocker.address() as { port: number }).port}`;
  const heldCfg = join(dir, 'held.yaml');
  writeFileSync(heldCfg, config(held));
  const failures: [string[], string][] = [
    [['--config', cfgFile, '--cert', cert, '--key', other.key], 'PILLION_TLS_KEY_MISMATCH'],
    [['--config', cfgFile, '--cert', cert, '--key', cutKey], 'PILLION_TLS_FILE_UNREADABLE'],
    [['--config', heldCfg, '--cert', cert, '--key', key], 'PILLION_LISTEN_FAILED'],
  ];
  for (const [args, code] of failures) {
    const r = spawnSync(process.execPath, [MAIN, 'run', '--admin', '127.0.0.1:0', ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, PILLION_STATE_DIR: tempDir(), ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, `${args.join(' ')} fails to start: ${r.stderr}`);
    assert.ok(r.stdout.includes(`"code":"${code}"`), `${code}: ${r.stdout}`);
    output += r.stdout + r.stderr;
  }
  assertClean(output, [...secrets, ...other.keySecrets], 'crash and start-failure output');
  for (const h of [...keyHex, ...other.keyHex])
    assert.equal(output.includes(h), false, 'key bytes in hex');
});
