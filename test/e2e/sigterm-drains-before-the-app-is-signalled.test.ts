import assert from 'node:assert/strict';
import { connect as h2Connect } from 'node:http2';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startRig } from './chaos.ts';
import { eventually, h1Request, h2Request, readEvents } from './harness.ts';

test('SIGTERM: readiness false at once, new requests served for the drain delay then refused, in-flight finish, then the app is signalled', async () => {
  const rig = await startRig({ 'drain-delay': '2s' });
  const { port, events, sidecar } = rig;
  const session = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
  let goaway: number | undefined;
  session.on('goaway', (_code, lastStreamID) => {
    goaway = lastStreamID;
  });
  session.on('error', () => {});
  const slowH1 = h1Request(port, '/slow?ms=3000');
  const slowH2 = h2Request(session, '/slow?ms=3000');
  await eventually(
    () => readEvents(events).filter((e) => e.startsWith('request GET /slow')).length === 2,
    10_000,
    'both slow requests at the app',
  );
  assert.equal(sidecar.isReady(), true);

  process.emit('SIGTERM', 'SIGTERM');
  assert.equal(sidecar.isReady(), false, 'readiness turns false at once');

  // Within the drain delay, new requests on new connections are still served.
  const during = await h1Request(port, '/');
  assert.equal(during.status, 200);
  const duringH2 = await h2Request(session, '/');
  assert.equal(duringH2.status, 200);

  await eventually(
    () => rig.lines.some((l) => l.msg === 'drain delay over; closing the listener'),
    10_000,
  );
  const refused = await new Promise<string>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  assert.equal(refused, 'ECONNREFUSED');

  const [h1, h2] = await Promise.all([slowH1, slowH2]);
  assert.equal(h1.status, 200);
  assert.equal(h1.headers.connection, 'close');
  assert.equal(h2.status, 200);
  // GOAWAY names the last stream Pillion took: the slow one (1) and the one during the delay (3).
  await eventually(() => goaway !== undefined, 10_000, 'GOAWAY');
  assert.equal(goaway, 3);
  session.close();

  assert.equal(await rig.exit, 0);
  const order = readEvents(events);
  const signalled = order.indexOf('signal SIGTERM');
  assert.ok(signalled > 0, order.join('\n'));
  const finished = order.flatMap((e, i) => (e === 'finished /slow' ? [i] : []));
  assert.equal(finished.length, 2);
  assert.ok(
    finished.every((i) => i < signalled),
    'the app is signalled only after requests in flight finished',
  );
  const msgs = rig.lines.map((l) => l.msg);
  assert.ok(msgs.indexOf('ingress stopped') < msgs.indexOf('stopping app'));
});
