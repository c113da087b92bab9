// S4: 100 certificate rotations under h1 and h2 load, most as a Kubernetes Secret's `..data`
// symlink swap, every fifth as renames into place (key a moment after its cert), and 10 torn
// writes between them: every new certificate is served, the torn ones never are (the last good
// pair stays, an error names the file and is counted), and not one request or handshake fails.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as h2Connect } from 'node:http2';
import { Agent } from 'node:https';
import { test } from 'node:test';
import { handshake, makeCert, secretVolume } from '../tls/tls-harness.ts';
import { APP_CMD, h1Request, h2Request, startPillion, tempDir } from './harness.ts';

const ROTATIONS = 100;
const TORN = 10;
/** Each load loop stops at this many requests, or when the rotations are done. */
const MAX_REQUESTS = 20_000;

test('100 certificate rotations under load fail no request or handshake; torn writes are never served', async (t) => {
  const dir = tempDir();
  const certs = [0, 1, 2, 3].map((i) => makeCert(dir, `gen${i}`, { dns: ['localhost'] }));
  const fp = certs.map((c) => new X509Certificate(readFileSync(c.cert)).fingerprint256);
  const text = certs.map((c) => ({
    cert: readFileSync(c.cert, 'utf8'),
    key: readFileSync(c.key, 'utf8'),
  }));
  const { cert, key, swap, renameIn } = secretVolume(dir, text[0]);

  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--cert',
    cert,
    '--key',
    key,
    '--',
    ...APP_CMD,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  let stop = false;
  const failures: string[] = [];
  let requests = 0;
  const fresh = new Agent({ keepAlive: false, rejectUnauthorized: false });
  const pooled = new Agent({ keepAlive: true, maxSockets: 2, rejectUnauthorized: false });
  t.after(() => {
    fresh.destroy();
    pooled.destroy();
  });
  const h1Loop = async (agent: Agent): Promise<void> => {
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      try {
        const r = await h1Request(port, '/', { agent });
        if (r.status === 200) requests++;
        else failures.push(`h1 status ${r.status}`);
      } catch (err) {
        failures.push(`h1 ${err}`);
      }
    }
  };
  const open = (): ClientHttp2Session => {
    const s = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    s.on('error', (err) => failures.push(`h2 session ${err}`));
    return s;
  };
  // One session kept for the whole run (an existing connection across every rotation), and
  // one opened afresh every 50 requests (a new handshake each time).
  const kept = open();
  let keptAfterLast = 0;
  let rotationsDone = 0;
  const h2Loop = async (renew: boolean): Promise<void> => {
    let s = renew ? open() : kept;
    for (let i = 0; i < MAX_REQUESTS && !stop; i++) {
      if (renew && i % 50 === 49) {
        s.close();
        s = open();
      }
      try {
        const r = await h2Request(s, '/');
        if (r.status === 200) requests++;
        else failures.push(`h2 status ${r.status}`);
        if (!renew && rotationsDone === ROTATIONS) keptAfterLast++;
      } catch (err) {
        failures.push(`h2 ${err}`);
      }
    }
    if (renew) s.close();
  };
  const load = Promise.all([
    h1Loop(fresh),
    h1Loop(pooled),
    h1Loop(pooled),
    h2Loop(false),
    h2Loop(true),
  ]);

  const served = async (): Promise<string> => {
    const r = await handshake(port, { servername: 'localhost' });
    if (!r.socket) {
      failures.push(`probe handshake ${r.error}`);
      return '';
    }
    const got = r.socket.getPeerX509Certificate()?.fingerprint256 ?? '';
    r.socket.destroy();
    return got;
  };
  const waitFor = async (check: () => Promise<boolean>, what: string): Promise<number> => {
    const t0 = Date.now();
    while (!(await check())) {
      if (Date.now() - t0 > 20_000) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - t0;
  };
  const failedLines = () =>
    p.lines.filter((l) => l.msg === 'TLS certificate files not reloaded; the last good ones stay');
  const lags: number[] = [];
  let current = 0;
  const started = Date.now();
  for (let i = 1; i <= ROTATIONS; i++) {
    if (i % (ROTATIONS / TORN) === 0) {
      // A torn write: a key that is not the cert's, or a PEM cut short.
      const other = (current + 1) % 4;
      const before = failedLines().length;
      if ((i / (ROTATIONS / TORN)) % 2) swap(text[other].cert, text[current].key);
      else swap(text[other].cert.slice(0, 300), text[other].key);
      await waitFor(async () => failedLines().length === before + 1, `torn write ${i}`);
      assert.equal(await served(), fp[current], 'the last good certificate stays served');
    }
    const next = (current + 1) % 4;
    if (i % 5 === 0) renameIn(text[next].cert, text[next].key);
    else swap(text[next].cert, text[next].key);
    lags.push(await waitFor(async () => (await served()) === fp[next], `rotation ${i}`));
    current = next;
    rotationsDone = i;
  }
  // A little more load on the kept session after the last rotation.
  await waitFor(async () => keptAfterLast >= 10, 'requests on the kept session');
  const seconds = (Date.now() - started) / 1000;
  stop = true;
  await load;
  kept.close();

  const torn = failedLines();
  assert.equal(torn.length, TORN);
  for (const l of torn) {
    assert.equal(l.code, 'PILLION_TLS_RELOAD_FAILED');
    assert.match(String(l.error), /secret\/tls\.(crt|key)/);
    assert.equal(l.level, 'error');
  }
  assert.deepEqual(failures, []);
  lags.sort((a, b) => a - b);
  t.diagnostic(
    `${requests} requests in ${seconds.toFixed(1)} s (${Math.round(requests / seconds)}/s); new certificate served after p50 ${lags[lags.length >> 1]} ms, max ${lags.at(-1)} ms`,
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
