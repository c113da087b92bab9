import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { connect as h2Connect } from 'node:http2';
import { after, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { APP_CMD, alive, h1Request, h2Request, startPillion, tempDir } from './harness.ts';

test('zero config: a Python app on a port it chose is served over HTTPS with a generated certificate', async (t) => {
  const dir = tempDir();
  // Port 0: the app picks a random port, so only auto-detection can find it.
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--',
    'python3',
    '-m',
    'http.server',
    '0',
    '--bind',
    '127.0.0.1',
    '--directory',
    dir,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  const ready = await p.ready();
  assert.ok(Number(ready.port) > 0);
  assert.match(String(ready.how), /detected/);
  const appPid = Number((await p.waitForLog((l) => l.msg === 'app started')).app_pid);

  const reply = await h1Request(port, '/');
  assert.equal(reply.status, 200);
  assert.match(reply.body, /Directory listing/);

  // The certificate: ECDSA P-256, issued by the local CA, covering localhost and both loopbacks.
  const cert = await new Promise<X509Certificate>((resolve, reject) => {
    const s = tlsConnect(
      { host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' },
      () => {
        const c = s.getPeerX509Certificate();
        s.end();
        if (c) resolve(c);
        else reject(new Error('no certificate'));
      },
    );
    s.on('error', reject);
  });
  assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
  assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(cert.checkHost('localhost'));
  assert.ok(cert.checkIP('127.0.0.1'));
  assert.ok(cert.checkIP('::1'));
  const listening = await p.waitForLog((l) => l.msg === 'ingress listening');
  assert.equal(listening.cert_sha256, cert.fingerprint256);
  assert.ok(Date.parse(String(listening.cert_expires)) > Date.now());

  // The app's own output became structured lines.
  const appLine = await p.waitForLog((l) => l.source === 'app' && /GET \/ HTTP/.test(l.msg));
  assert.equal(appLine.stream, 'stderr');
  assert.equal(appLine.pid, appPid);
  assert.match(String(appLine.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

  p.proc.kill('SIGTERM');
  const code = await p.exited;
  // python's default SIGTERM action terminates it: 128 + 15.
  assert.equal(code, 143);
  assert.equal(alive(appPid), false);
});

test('HTTP/2 and HTTP/1.1 both reach the app, with forwarding headers set and one access line each', async () => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const h1 = await h1Request(port, '/headers', {
    headers: {
      'x-forwarded-for': '6.6.6.6',
      'x-forwarded-host': 'evil',
      'x-request-id': 'abc-123',
      connection: 'x-drop-me',
      'x-drop-me': '1',
    },
  });
  assert.equal(h1.status, 200);
  const seen1 = JSON.parse(h1.body);
  assert.equal(seen1['x-forwarded-for'], '127.0.0.1');
  assert.equal(seen1['x-forwarded-proto'], 'https');
  assert.equal(seen1['x-forwarded-host'], `127.0.0.1:${port}`);
  assert.equal(seen1['x-request-id'], 'abc-123');
  assert.equal(seen1['x-drop-me'], undefined);

  let h2RequestId = '';
  const session = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  try {
    const h2 = await h2Request(session, '/headers', { headers: { 'x-forwarded-proto': 'http' } });
    assert.equal(h2.status, 200);
    const seen2 = JSON.parse(h2.body);
    assert.equal(seen2['x-forwarded-proto'], 'https');
    assert.equal(seen2.host, `127.0.0.1:${port}`);
    assert.match(seen2['x-request-id'], /^[0-9a-f-]{36}$/);
    h2RequestId = seen2['x-request-id'];

    // A body streams both ways over HTTP/2.
    const big = 'x'.repeat(300_000);
    const echo = await h2Request(session, '/echo', { method: 'POST', body: big });
    assert.equal(echo.status, 200);
    assert.equal(echo.body.length, big.length);
  } finally {
    session.close();
  }

  const access = () => p.lines.filter((l) => l.source === 'access');
  const deadline = Date.now() + 5000;
  while (access().length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const lines = access();
  assert.equal(lines.length, 3);
  const [a1, a2, a3] = lines;
  assert.deepEqual(
    {
      method: a1.method,
      path: a1.path,
      status: a1.status,
      protocol: a1.protocol,
      remote: a1.remote,
      request_id: a1.request_id,
    },
    {
      method: 'GET',
      path: '/headers',
      status: 200,
      protocol: 'HTTP/1.1',
      remote: '127.0.0.1',
      request_id: 'abc-123',
    },
  );
  assert.equal(a2.protocol, 'HTTP/2');
  // The id Pillion generated is the one the app saw.
  assert.equal(a2.request_id, h2RequestId);
  assert.equal(a3.method, 'POST');
  assert.equal(a3.bytes, 300_000);
  for (const l of lines) assert.equal(typeof l.duration_ms, 'number');

  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
