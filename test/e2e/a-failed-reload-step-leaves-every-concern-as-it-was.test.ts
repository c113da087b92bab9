// A reload is one transaction: when one concern cannot prepare its part (a log file that
// cannot be opened, a secret file that cannot be read, a CA file of an egress service, a listen
// port already taken, a certificate and key that do not match, a TLS policy OpenSSL refuses),
// the others' prepared parts are released and nothing changes; a valid text that failed is
// tried again at the next poll. The supervisor's part (the app's timings) is a copy of numbers
// and cannot fail by design (Supervisor.prepare), so it has no case of its own here.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { request as httpRequest } from 'node:http';
import { type AddressInfo, createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makePki } from '../egress/certs.ts';
import { startUpstream } from '../egress/upstream.ts';
import { handshake, makeCert } from '../tls/tls-harness.ts';
import {
  eventually,
  freePort,
  h1Request,
  type LogLine,
  type Pillion,
  startPillion,
  tempDir,
} from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));

test('a failure in any prepare step leaves the config, secrets and log sinks as they were', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.yaml');
  const logA = join(dir, 'a.log');
  const logB = join(dir, 'b.log');
  writeFileSync(join(dir, 's1.txt'), 'one');
  const config = (generation: number, log: string, secrets: string) =>
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
      `  config: { generation: ${generation} }`,
      `  secrets: { ${secrets} }`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      'logs:',
      `  file: { path: ${JSON.stringify(log)} }`,
      '',
    ].join('\n');
  writeFileSync(file, config(0, logA, 's1: { file: s1.txt }'));
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const generation = async () =>
    (JSON.parse((await h1Request(port, '/config')).body) as { generation: number }).generation;
  const { next, rejected } = logReader(p);
  assert.equal(await generation(), 0);

  // The logs' step fails: a log file under /proc cannot be opened.
  writeAtomically(file, config(1, '/proc/pillion-nope/x.log', 's1: { file: s1.txt }'));
  const logFail = await rejected('PILLION_LOG_FILE_UNWRITABLE');
  assert.match((logFail.errors as string[]).join('\n'), /\/proc\/pillion-nope\/x\.log/);
  assert.equal(await generation(), 0, 'app.config unchanged');

  // The config API's step fails after the logs' succeeded: a new secret whose file is missing.
  // The log file the logs prepared is released, and gets no line.
  writeAtomically(file, config(2, logB, 's1: { file: s1.txt }, s2: { file: s2.txt }'));
  const secretFail = await rejected('PILLION_SECRET_UNREADABLE');
  assert.match(
    (secretFail.errors as string[]).join('\n'),
    /app\.secrets\.s2: its file cannot be read/,
  );
  assert.equal(await generation(), 0, 'app.config unchanged');
  assert.equal((await h1Request(port, '/secret/s2')).status, 404, 'no new secret');
  assert.equal((await h1Request(port, '/secret/s1')).body, 'one', 'the old secret still served');
  // The access line is written once the response is done: it may come just after it.
  await eventually(
    () => /"msg":"GET \/secret\/s1 200"/.test(readFileSync(logA, 'utf8')),
    10_000,
    'lines still go to the first log file',
  );
  assert.equal(
    existsSync(logB) ? readFileSync(logB, 'utf8') : '',
    '',
    'nothing in the released file',
  );

  // Nothing in the file changes, but the secret appears: the next poll applies the same text.
  writeFileSync(join(dir, 's2.txt'), 'two');
  await next((l) => l.msg === 'config reloaded', 'the retried reload');
  assert.equal(await generation(), 2);
  assert.equal((await h1Request(port, '/secret/s2')).body, 'two');
  const applied = p.lines.find((l) => l.msg === 'config applied');
  assert.deepEqual(applied?.fields, ['app.config', 'app.secrets', 'logs.file.path']);
  await eventually(
    () => /"msg":"GET \/secret\/s2 200"/.test(readFileSync(logB, 'utf8')),
    10_000,
    'the new file in use',
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

test('a reload changing every concern at once, failing in one concern, changes none', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.yaml');
  const logA = join(dir, 'a.log');
  const logB = join(dir, 'b.log');
  writeFileSync(join(dir, 's1.txt'), 'one');
  const q = JSON.stringify;
  const pair = [0, 1].map((i) => makeCert(dir, `srv${i}`, { dns: ['localhost'] }));
  const fp = (f: string) => new X509Certificate(readFileSync(f)).fingerprint256;
  const epki = makePki();
  const up = [await startUpstream('one', epki), await startUpstream('two', epki)];
  t.after(async () => {
    for (const u of up) await u.close();
  });
  interface Parts {
    generation: number;
    log: string;
    level: string;
    port: number;
    cert: string;
    key: string;
    upstream: number;
    ca: string;
    ciphers?: string;
    secrets: string;
  }
  const config = (c: Parts) =>
    [
      'app:',
      `  command: [${q(process.execPath)}, ${q(API_APP)}]`,
      `  config: { generation: ${c.generation} }`,
      `  secrets: { ${c.secrets} }`,
      'ingress:',
      `  listen: 127.0.0.1:${c.port}`,
      `  tls: { cert: ${q(c.cert)}, key: ${q(c.key)}${c.ciphers ? `, ciphers: ${q(c.ciphers)}` : ''} }`,
      'egress:',
      '  listen: 127.0.0.1:0',
      `  services: { svc: { endpoints: [${up[c.upstream].url}], tls: { ca: ${q(c.ca)} } } }`,
      'logs:',
      `  level: ${c.level}`,
      `  file: { path: ${q(c.log)} }`,
      '',
    ].join('\n');
  const first: Parts = {
    generation: 0,
    log: logA,
    level: 'info',
    port: await freePort(),
    cert: pair[0].cert,
    key: pair[0].key,
    upstream: 0,
    ca: epki.caFile,
    secrets: 's1: { file: s1.txt }',
  };
  writeFileSync(file, config(first));
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());
  const port = await p.port();
  assert.equal(port, first.port);
  await p.ready();
  const egress = new URL(String((await p.waitForLog((l) => l.msg.startsWith('egress port'))).url));
  const { rejected } = logReader(p);
  const fileLines = (f: string) =>
    existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean) : [];
  const from = async () =>
    JSON.parse(
      await new Promise<string>((resolve, reject) => {
        const req = httpRequest(
          { host: egress.hostname, port: Number(egress.port), path: '/svc/x', agent: false },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
              body += c;
            });
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
        req.end();
      }),
    ).from as string;
  /** What Pillion's descriptors point at. */
  const openFiles = () => {
    const fds = `/proc/${p.proc.pid}/fd`;
    return readdirSync(fds).map((fd) => {
      try {
        return readlinkSync(join(fds, fd));
      } catch {
        return '';
      }
    });
  };
  const served = async (at: number) => {
    const r = await handshake(at, { servername: 'localhost' });
    const got = r.socket?.getPeerX509Certificate()?.fingerprint256 ?? `no handshake: ${r.error}`;
    r.socket?.destroy();
    return got;
  };
  const refuses = (at: number) =>
    new Promise<boolean>((resolve) => {
      const s = tcpConnect(at, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });

  /** Every concern as it was at start, whatever the refused reload tried to change. */
  const unchanged = async (what: string, tried: Parts) => {
    const reads = () => fileLines(logA).filter((l) => l.includes('"msg":"app config read"')).length;
    const before = reads();
    const cfg = await h1Request(port, '/config');
    assert.equal(JSON.parse(cfg.body).generation, 0, `${what}: app.config`);
    // The read is logged at info: the level tried (error) is not in force, nor the file.
    await eventually(() => reads() > before, 10_000, `${what}: an info line in the first file`);
    assert.deepEqual(fileLines(logB), [], `${what}: nothing in the file that was tried`);
    // Closed by the abort; the close itself completes off the event loop.
    await eventually(
      () => !openFiles().includes(logB),
      10_000,
      `${what}: the file tried was closed again`,
    );
    assert.equal((await h1Request(port, '/secret/s1')).body, 'one', `${what}: app.secrets`);
    assert.equal((await h1Request(port, '/secret/s2')).status, 404, `${what}: app.secrets`);
    // (The taken one is the holder's.)
    if (tried.port !== taken)
      assert.ok(await refuses(tried.port), `${what}: the port tried is not bound`);
    assert.equal(await served(port), fp(pair[0].cert), `${what}: the certificate served`);
    assert.equal(await from(), 'one', `${what}: egress.services`);
  };

  // Each reload changes the app's config, the log file and level, the listen port, the
  // certificate and the egress service's endpoint, and fails in one concern's prepare step.
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  t.after(() => holder.close());
  const taken = (holder.address() as AddressInfo).port;
  const wanted = async (generation: number): Promise<Parts> => ({
    generation,
    log: logB,
    level: 'error',
    port: await freePort(),
    cert: pair[1].cert,
    key: pair[1].key,
    upstream: 1,
    ca: epki.caFile,
    secrets: 's1: { file: s1.txt }',
  });
  const cases: [concern: string, (c: Parts) => Parts, code: string, named: RegExp][] = [
    [
      'logs',
      (c) => ({ ...c, log: '/proc/pillion-nope/x.log' }),
      'PILLION_LOG_FILE_UNWRITABLE',
      /cannot open the log file \/proc\/pillion-nope\/x\.log/,
    ],
    [
      'app-api',
      (c) => ({ ...c, secrets: 's1: { file: s1.txt }, s2: { file: s2.txt }' }),
      'PILLION_SECRET_UNREADABLE',
      /app\.secrets\.s2: its file cannot be read/,
    ],
    [
      'egress',
      (c) => ({ ...c, ca: join(dir, 'nope-ca.pem') }),
      'PILLION_TLS_FILE_UNREADABLE',
      /egress\.services\.svc\.tls\.ca: cannot read .*nope-ca\.pem \(ENOENT\)/,
    ],
    [
      'ingress: a listen port taken',
      (c) => ({ ...c, port: taken }),
      'PILLION_LISTEN_FAILED',
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}`),
    ],
    [
      "ingress: a key that is not the certificate's",
      (c) => ({ ...c, key: pair[0].key }),
      'PILLION_TLS_KEY_MISMATCH',
      /ingress\.tls\.key: .*srv0\.key is not the private key of .*srv1\.crt/,
    ],
    [
      'TLS: a policy OpenSSL refuses',
      (c) => ({ ...c, ciphers: 'NO-SUCH-CIPHER' }),
      'PILLION_TLS_POLICY_INVALID',
      /ingress\.tls\.ciphers/,
    ],
  ];
  let generation = 0;
  for (const [concern, fail, code, named] of cases) {
    const tried = fail(await wanted(++generation));
    writeAtomically(file, config(tried));
    const line = await rejected(code);
    assert.match((line.errors as string[]).join('\n'), named, concern);
    await unchanged(concern, tried);
  }
  assert.equal(p.lines.filter((l) => l.msg === 'config reloaded').length, 0);

  // The next good reload applies every part at once.
  writeFileSync(join(dir, 's2.txt'), 'two');
  const good = {
    ...(await wanted(++generation)),
    level: 'warn',
    secrets: 's1: { file: s1.txt }, s2: { file: s2.txt }',
  };
  writeAtomically(file, config(good));
  // At warn, the reload's own info lines are not written: the new port answering shows it.
  await eventually(async () => !(await refuses(good.port)), 30_000, 'the good reload');
  assert.equal(JSON.parse((await h1Request(good.port, '/config')).body).generation, generation);
  assert.equal((await h1Request(good.port, '/secret/s2')).body, 'two');
  assert.equal(await served(good.port), fp(pair[1].cert));
  assert.equal(await from(), 'two');
  assert.ok(await refuses(port), 'the old port closed');
  assert.ok(openFiles().includes(logB), 'the new file open');
  await eventually(
    () => fileLines(logB).some((l) => l.includes('"msg":"GET /secret/s2 200"')),
    10_000,
    'the new file in use',
  );
  assert.equal(
    fileLines(logB).some((l) => l.includes('"msg":"app config read"')),
    false,
    'the warn level in force',
  );
  assert.deepEqual(
    p.lines.filter(
      (l) =>
        l.level === 'error' && l.msg !== 'config rejected; the last good config stays in force',
    ),
    [],
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

/** Follows Pillion's log from the line after the last one matched. */
function logReader(p: Pillion) {
  let seen = 0;
  const next = async (match: (l: LogLine) => boolean, what: string): Promise<LogLine> => {
    for (let i = 0; i < 2000; i++) {
      for (; seen < p.lines.length; seen++) if (match(p.lines[seen])) return p.lines[seen++];
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${what}`);
  };
  const rejected = (code: string) =>
    next(
      (l) => l.msg === 'config rejected; the last good config stays in force' && l.code === code,
      code,
    );
  return { next, rejected };
}

/** Written whole, then renamed into place: the watcher never reads half a file. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
