// An egress access line says which service was asked, which endpoint answered and how many
// attempts were sent: enough to tell a retried call from a plain one, and a name that is not
// configured from a service that failed.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { LogOutput } from '../../src/core/log.ts';
import { type AccessEntry, createAccessLog } from '../../src/logs/access-log.ts';
import { makePki, type TestPki } from './certs.ts';
import { config, type Running, startEgress } from './egress-harness.ts';
import { startUpstream, type Upstream } from './upstream.ts';

let pki: TestPki;
let a: Upstream;
let b: Upstream;
let eg: Running;

before(async () => {
  pki = makePki();
  a = await startUpstream('a', pki);
  b = await startUpstream('b', pki);
  // Round-robin: the first request goes to a, its retry to b (an endpoint not tried yet).
  eg = await startEgress(
    config(
      `svc:\n  tls: { ca: ${pki.caFile} }\n  endpoints: [${a.url}, ${b.url}]\n  balance: round_robin\n  retry: { max_retries: 1, backoff: 1ms }`,
    ),
    pki.dir,
  );
});
after(async () => {
  await eg.stop();
  await a.close();
  await b.close();
});

/** The access entry of the request to `path`, once written (after the response is sent). */
async function entryOf(path: string): Promise<AccessEntry> {
  for (let i = 0; i < 200; i++) {
    const e = eg.access.find((l) => l.path === path);
    if (e) return e;
    await new Promise((d) => setTimeout(d, 10));
  }
  throw new Error(`no access line for ${path}; got ${JSON.stringify(eg.access)}`);
}

/** The JSON line the access log writes for an entry, with the default fields. */
function lineOf(e: AccessEntry): Record<string, unknown> {
  let text = '';
  const sink = new Writable({
    write(c, _e, cb) {
      text += String(c);
      cb();
    },
  });
  const out = new LogOutput(sink);
  createAccessLog(out)(e);
  return JSON.parse(text.trim());
}

test('a GET retried after a reset says attempts 2 and names the endpoint that answered', async () => {
  a.mode = 'reset';
  b.mode = 'ok';
  const r = await fetch(`${eg.url}/svc/retried`);
  assert.equal(r.status, 200);
  assert.equal(((await r.json()) as { from: string }).from, 'b');
  const line = lineOf(await entryOf('/svc/retried'));
  assert.equal(line.source, 'egress-access');
  assert.equal(line.service, 'svc');
  assert.equal(line.upstream, `127.0.0.1:${b.port}`);
  assert.equal(line.attempts, 2);
  assert.equal(line.status, 200);
});

test('a GET answered at once says attempts 1 and the endpoint it went to', async () => {
  a.mode = 'ok';
  b.mode = 'ok';
  const r = await fetch(`${eg.url}/svc/once`);
  const from = ((await r.json()) as { from: string }).from;
  const line = lineOf(await entryOf('/svc/once'));
  assert.equal(line.attempts, 1);
  assert.equal(line.upstream, `127.0.0.1:${(from === 'a' ? a : b).port}`);
});

test('a 404 for a service that is not configured has a line: the name asked, no attempt', async () => {
  const r = await fetch(`${eg.url}/nope/x`);
  assert.equal(r.status, 404);
  await r.text();
  const line = lineOf(await entryOf('/nope/x'));
  assert.equal(line.status, 404);
  assert.equal(line.error, 'PILLION_EGRESS_UNKNOWN_SERVICE');
  assert.equal(line.service, 'nope');
  assert.equal(line.attempts, 0);
  assert.equal(line.upstream, undefined);
});
