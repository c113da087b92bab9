// H2Guard's reset budget on its own, on a server without Node's invalid-frame limit in the way:
// streams nghttp2 resets for the client's fault (MadeYouReset) count against the client, and
// streams the server resets itself never do.
import assert from 'node:assert/strict';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { H2_BUDGET, H2Guard } from '../../src/ingress/h2-guard.ts';
import { Rejections } from '../../src/ingress/rejections.ts';
import { loadTlsMaterial } from '../../src/ingress/tls/material.ts';
import { tempDir } from '../e2e/harness.ts';
import { MADE_YOU_RESET, MAX_ABUSIVE } from './h2-abuse.ts';
import { FrameType, getFields, H2Raw } from './h2-crafter.ts';

const ENHANCE_YOUR_CALM = 11;
const INTERNAL_ERROR = 2;

async function guarded(
  onStream: Parameters<Http2SecureServer['on']>[1],
): Promise<{ port: number; rejections: Rejections; close: () => Promise<void> }> {
  const tls = await loadTlsMaterial({ stateDir: tempDir() });
  const rejections = new Rejections(
    new Logger(new LogOutput(new Writable({ write: (_c, _e, cb) => cb() }))),
  );
  const guard = new H2Guard(rejections, 5000, 60_000);
  const server = createSecureServer({
    cert: tls.defaults.map((p) => p.cert),
    key: tls.defaults.map((p) => p.key.export({ format: 'pem', type: 'pkcs8' }) as string),
    // Node's own count of invalid frames would end these sessions first; here it does not.
    maxSessionInvalidFrames: 1_000_000,
  });
  server.on('session', (s) => guard.watch(s));
  server.on('stream', onStream);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    rejections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('streams the server resets for the client fault count against the reset budget', async () => {
  const abuse =
    MADE_YOU_RESET.find((a) => a.name.includes('trailers without')) ?? MADE_YOU_RESET[0];
  assert.ok(abuse);
  const srv = await guarded((stream) => stream.on('error', () => {}));
  try {
    const h = await H2Raw.open(srv.port);
    let sent = 0;
    while (sent < MAX_ABUSIVE && !h.closed && !h.goaway) {
      await h.send(abuse.make(sent));
      sent++;
    }
    await h.until(() => h.goaway !== undefined);
    assert.equal(h.goaway?.code, ENHANCE_YOUR_CALM);
    assert.ok(sent > H2_BUDGET.resets, `${sent} streams`);
    assert.equal(srv.rejections.counts.H2_RAPID_RESET, 1);
    h.close();
  } finally {
    await srv.close();
  }
});

test('streams the server resets itself do not count against the client', async () => {
  const srv = await guarded((stream) => {
    stream.on('error', () => {});
    // As when the app cuts a response short: the head went out, then the stream is reset.
    stream.respond({ ':status': 200 });
    setImmediate(() => stream.destroy(new Error('cut short')));
  });
  try {
    const h = await H2Raw.open(srv.port);
    const streams = H2_BUDGET.resets * 2;
    for (let i = 0; i < streams; i++) {
      await h.send(h.headers(2 * i + 1, getFields('/cut')));
      await h.until(() => h.outcome(2 * i + 1).status !== undefined);
    }
    const last = 2 * streams - 1;
    await h.until(() => h.frames.some((f) => f.stream === last && f.type === FrameType.RST_STREAM));
    const resets = h.frames.filter(
      (f) => f.type === FrameType.RST_STREAM && f.payload.readUInt32BE(0) === INTERNAL_ERROR,
    ).length;
    assert.equal(resets, streams, 'every stream was reset by the server');
    assert.equal(h.goaway, undefined);
    assert.equal(srv.rejections.counts.H2_RAPID_RESET, undefined);
    h.close();
  } finally {
    await srv.close();
  }
});
