// L5: connection-level events (parser rejects, plain HTTP to the TLS port, failed TLS
// handshakes, HTTP/2 PING and SETTINGS floods) are one line shape, `connection rejected`,
// throttled per reason, and counted exactly: the lines (each event logged, plus the
// `suppressed` of summary lines), the `connection events` line at stop and the rise of
// `pillion_connections_rejected_total{reason}` on /metrics all equal what this test sent,
// reason by reason. Every parser reject has its access line.
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { connect } from 'node:tls';
import { FLOODS, flood } from '../edge/h2-abuse.ts';
import { type Scrape, scrape } from './admin-client.ts';
import { APP_CMD, eventually, startPillion } from './harness.ts';

const PARSER_REJECTS = 40;
const PLAIN_HTTP = 15;
const TLS_FAILURES = 15;
const PING_FLOODS = 3;
const SETTINGS_FLOODS = 3;
const REJECTED = 'pillion_connections_rejected_total';

/** Each reason's `pillion_connections_rejected_total`, with the parser's codes summed as HPE_*. */
function byReason(m: Scrape): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of m.samples.filter((x) => x.name === REJECTED)) {
    const r = s.labels.reason.startsWith('HPE_') ? 'HPE_*' : s.labels.reason;
    out[r] = (out[r] ?? 0) + s.value;
  }
  return out;
}

/** Writes `bytes` and waits for the peer to close (bounded). */
function sendAndWait(
  open: () => ReturnType<typeof tcpConnect>,
  bytes: string | Buffer,
): Promise<void> {
  return new Promise((resolve) => {
    const s = open();
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.on('error', () => {});
    s.on('data', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    s.write(bytes);
  });
}

test('parser rejects, TLS failures and h2 floods are counted exactly as sent', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await p.admin();
  const before = byReason(await scrape(admin));
  for (let i = 0; i < PARSER_REJECTS; i++) {
    await sendAndWait(
      () =>
        connect({
          host: '127.0.0.1',
          port,
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        }),
      '\x01BAD /x HTTP/1.1\r\nHost: a\r\n\r\n',
    );
  }
  // Plain HTTP to the TLS port: answered 400 before any TLS work.
  for (let i = 0; i < PLAIN_HTTP; i++) {
    await sendAndWait(() => tcpConnect({ host: '127.0.0.1', port }), 'GET / HTTP/1.1\r\n\r\n');
  }
  // A TLS record header followed by a handshake that is not one: each is one failed handshake.
  const notAHello = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00]);
  for (let i = 0; i < TLS_FAILURES; i++) {
    await sendAndWait(() => tcpConnect({ host: '127.0.0.1', port }), notAHello);
  }
  const ping = FLOODS.find((f) => f.reason === 'H2_PING_FLOOD');
  assert.ok(ping);
  for (let i = 0; i < PING_FLOODS; i++) {
    const r = await flood(port, ping);
    assert.ok(r.goaway || r.closed, 'the flooder was stopped');
  }
  const settingsFlood = FLOODS.find((f) => f.reason === 'H2_SETTINGS_FLOOD');
  assert.ok(settingsFlood);
  for (let i = 0; i < SETTINGS_FLOODS; i++) {
    const r = await flood(port, settingsFlood);
    assert.ok(r.goaway || r.closed, 'the SETTINGS flooder was stopped');
  }
  const sent: Record<string, number> = {
    'HPE_*': PARSER_REJECTS,
    PLAIN_HTTP,
    TLS_HANDSHAKE_FAILED: TLS_FAILURES,
    H2_PING_FLOOD: PING_FLOODS,
    H2_SETTINGS_FLOOD: SETTINGS_FLOODS,
  };
  const total = Object.values(sent).reduce((a, b) => a + b, 0);
  // The counters rise as each connection ends; once their sum is what was sent, each reason
  // must be exactly its own share (no reason counted twice, none for another).
  let after: Record<string, number> = {};
  let last: Scrape | undefined;
  const rise = (r: string): number => (after[r] ?? 0) - (before[r] ?? 0);
  await eventually(
    async () => {
      last = await scrape(admin);
      after = byReason(last);
      return Object.keys(after).reduce((n, r) => n + rise(r), 0) >= total;
    },
    30_000,
    `${REJECTED} to reach ${total}`,
  );
  for (const r of new Set([...Object.keys(sent), ...Object.keys(after)])) {
    assert.equal(rise(r), sent[r] ?? 0, `${REJECTED}{reason=${r}}: ${JSON.stringify(after)}`);
  }
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);

  const summary = p.lines.find((l) => l.msg === 'connection events');
  assert.ok(summary, 'a connection events line at stop');
  const counts = summary.counts as Record<string, number>;
  const parser = Object.entries(counts)
    .filter(([k]) => k.startsWith('HPE_'))
    .reduce((n, [, v]) => n + v, 0);
  assert.equal(parser, PARSER_REJECTS, JSON.stringify(counts));
  assert.equal(counts.PLAIN_HTTP, PLAIN_HTTP, JSON.stringify(counts));
  assert.equal(counts.TLS_HANDSHAKE_FAILED, TLS_FAILURES, JSON.stringify(counts));
  assert.equal(counts.H2_PING_FLOOD, PING_FLOODS, JSON.stringify(counts));
  assert.equal(counts.H2_SETTINGS_FLOOD, SETTINGS_FLOODS, JSON.stringify(counts));
  assert.equal(summary.total, total);

  const lines = p.lines.filter((l) => l.msg === 'connection rejected');
  for (const [reason, n] of Object.entries(counts)) {
    const ours = lines.filter((l) => l.reason === reason);
    // One shape for every connection event.
    for (const l of ours) {
      assert.equal(l.source, 'ingress');
      assert.equal(l.level, 'warn');
      assert.equal(l.code, 'PILLION_CONNECTION_REJECTED');
      assert.equal(typeof l.count, 'number');
    }
    const logged = ours.filter((l) => l.suppressed === undefined).length;
    const suppressed = ours.reduce((s, l) => s + Number(l.suppressed ?? 0), 0);
    assert.equal(logged + suppressed, n, `${reason}: lines and suppressed add up to the count`);
    assert.equal(Math.max(...ours.map((l) => Number(l.count))), n, `${reason}: the last count`);
    // Each reason's own counter (each parser code apart) is the stop line's count for it.
    const metric = last?.value(REJECTED, { reason }) ?? 0;
    assert.equal(metric, n, `${REJECTED}{reason=${reason}} equals the stop line's count`);
    t.diagnostic(
      `${reason}: ${n} events, ${ours.length} lines, ${logged} logged one by one, ${suppressed} suppressed; ${REJECTED} ${metric}`,
    );
  }
  const refusedAccess = p.lines.filter((l) => l.source === 'access' && l.status === 400);
  assert.equal(refusedAccess.length, PARSER_REJECTS, 'one access line per parser reject');
});
