import assert from 'node:assert/strict';
import { test } from 'node:test';
import { APP_CMD, h1Request, startPillion } from './harness.ts';

const SECRET = 'tok-3b1f9a';

test('access lines carry redacted headers and query: no secret reaches the log', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--access-log-fields',
    'time,level,source,msg,path,status,headers,user_agent',
    '--log-redact-query',
    'token,sig',
    '--',
    ...APP_CMD,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const reply = await h1Request(port, `/headers?token=${SECRET}&keep=1&sig=${SECRET}`, {
    headers: {
      authorization: `Bearer ${SECRET}`,
      cookie: `session=${SECRET}`,
      'user-agent': 'e2e-test',
    },
  });
  assert.equal(reply.status, 200);
  // The app itself got the real values: redaction is for logs only.
  assert.equal(JSON.parse(reply.body).authorization, `Bearer ${SECRET}`);
  const line = await p.waitForLog((l) => l.source === 'access', 'access line');
  assert.equal(line.path, '/headers?token=[REDACTED]&keep=1&sig=[REDACTED]');
  const headers = line.headers as Record<string, string>;
  assert.equal(headers.authorization, '[REDACTED]');
  assert.equal(headers.cookie, '[REDACTED]');
  assert.equal(line.user_agent, 'e2e-test');
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const all = p.lines.map((l) => JSON.stringify(l)).join('\n');
  assert.ok(!all.includes(SECRET), 'no secret anywhere in the log');
});

test('the Combined Log Format, one line per request', async (t) => {
  const p = startPillion([
    'run',
    '--listen',
    '127.0.0.1:0',
    '--access-log-format',
    'combined',
    '--log-redact-query',
    'token',
    '--',
    ...APP_CMD,
  ]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  for (let i = 0; i < 3; i++) {
    const r = await h1Request(port, `/n${i}?token=${SECRET}`, {
      headers: { referer: 'https://r.test/' },
    });
    assert.equal(r.status, 200);
  }
  await p.waitForLog((l) => l.source === 'non-json' && l.msg.includes('/n2'), 'third access line');
  const clf = p.lines.filter((l) => l.source === 'non-json').map((l) => l.msg);
  assert.equal(clf.length, 3);
  for (const [i, text] of clf.entries()) {
    assert.match(
      text,
      new RegExp(
        `^127\\.0\\.0\\.1 - - \\[[^\\]]+\\] "GET /n${i}\\?token=\\[REDACTED\\] HTTP/1\\.1" 200 \\d+ "https://r\\.test/" "-"$`,
      ),
    );
  }
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
