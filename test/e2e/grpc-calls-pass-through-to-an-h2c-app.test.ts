import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { type EchoReply, type EchoRequest, echoClient } from '../fixtures/grpc-app.ts';
import {
  eventually,
  h1Request,
  type Pillion,
  readEvents,
  startPillion,
  tempDir,
} from './harness.ts';

const GRPC_APP = fileURLToPath(new URL('../fixtures/grpc-app.ts', import.meta.url));

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

let p: Pillion;
let port: number;
let client: Client;
let events: string;

before(async () => {
  events = `${tempDir()}/events`;
  p = startPillion(
    ['run', '--listen', '127.0.0.1:0', '--app-protocol', 'h2c', '--', process.execPath, GRPC_APP],
    { env: { APP_EVENTS: events } },
  );
  const listening = await p.waitForLog((l) => l.msg === 'ingress listening');
  port = Number(listening.port);
  await p.ready();
  // The local CA that issued the generated certificate is the client's only trust root.
  const ca = readFileSync(String(listening.local_ca));
  const Echo = echoClient();
  client = new Echo(`localhost:${port}`, grpc.credentials.createSsl(ca)) as unknown as Client;
});

after(() => {
  client?.close();
  p?.kill();
});

const req = (r: Partial<EchoRequest>): EchoRequest => ({
  text: '',
  count: 0,
  fail_code: 0,
  fail_message: '',
  hang: false,
  ...r,
});

interface Outcome<T> {
  err: grpc.ServiceError | null;
  reply?: T;
  headers?: grpc.Metadata;
  status?: grpc.StatusObject;
}

function unary(
  r: EchoRequest,
  md = new grpc.Metadata(),
  opts: grpc.CallOptions = {},
): Promise<Outcome<EchoReply>> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let reply: EchoReply | undefined;
    let err: grpc.ServiceError | null = null;
    const call = client.Unary(r, md, opts, (e: grpc.ServiceError | null, rep: EchoReply) => {
      err = e;
      reply = rep;
    }) as grpc.ClientUnaryCall;
    call.on('metadata', (m) => {
      headers = m;
    });
    call.on('status', (status) => resolve({ err, reply, headers, status }));
  });
}

test('a unary call passes with metadata both ways, response headers and trailers', async () => {
  const md = new grpc.Metadata();
  md.set('x-test-meta', 'from the client');
  md.set('x-test-bin', Buffer.from([0, 1, 254, 255]));
  md.set('x-request-id', 'grpc-call-1');
  const out = await unary(req({ text: 'hello' }), md);
  assert.equal(out.err, null);
  assert.equal(out.reply?.text, 'hello');
  const seen = JSON.parse(out.reply?.seen ?? '{}');
  assert.equal(seen.meta, 'from the client');
  assert.equal(seen.bin, '0001feff');
  assert.equal(seen.forwardedProto, 'https');
  assert.equal(seen.requestId, 'grpc-call-1');
  assert.equal(seen.deadline, 'none');
  assert.equal(out.headers?.get('x-app-header')[0], 'hello');
  assert.equal(out.status?.code, grpc.status.OK);
  assert.equal(out.status?.metadata.get('x-app-trailer')[0], 'done');
  const line = await p.waitForLog((l) => l.source === 'access' && l.request_id === 'grpc-call-1');
  assert.equal(line.status, 200);
  assert.equal(line.grpc_status, 0);
  assert.equal(line.protocol, 'HTTP/2');
  assert.equal(line.path, '/pillion.test.Echo/Unary');
});

test('an error status passes with its grpc-message and trailing metadata', async () => {
  const message = 'no such thing: 100% ünïcode, a\nnewline';
  const out = await unary(req({ fail_code: grpc.status.NOT_FOUND, fail_message: message }));
  assert.equal(out.err?.code, grpc.status.NOT_FOUND);
  assert.equal(out.err?.details, message);
  assert.equal(out.status?.metadata.get('x-app-trailer')[0], 'failed');
  const line = await p.waitForLog(
    (l) => l.source === 'access' && l.grpc_status === grpc.status.NOT_FOUND,
  );
  assert.equal(line.status, 200);
});

test('a server-streaming call streams every message, then the trailers', async () => {
  const call = client.ServerStream(
    req({ text: 'tick', count: 50 }),
  ) as grpc.ClientReadableStream<EchoReply>;
  const got: string[] = [];
  const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
    call.on('data', (r: EchoReply) => got.push(r.text));
    call.on('error', reject);
    call.on('status', resolve);
  });
  assert.equal(got.length, 50);
  assert.equal(got[49], 'tick 49');
  assert.equal(status.code, grpc.status.OK);
  assert.equal(status.metadata.get('x-app-trailer')[0], 'done');
});

test('a client-streaming call delivers every message to the app', async () => {
  const reply = await new Promise<EchoReply>((resolve, reject) => {
    const call = client.ClientStream((e: grpc.ServiceError | null, r: EchoReply) =>
      e ? reject(e) : resolve(r),
    ) as grpc.ClientWritableStream<EchoRequest>;
    for (let i = 0; i < 20; i++) call.write(req({ text: `m${i}` }));
    call.end();
  });
  assert.equal(reply.index, 20);
  assert.equal(reply.text.split(',')[19], 'm19');
});

test('an app that fails a client stream early ends the call with its status while the client still sends', async () => {
  const err = await new Promise<grpc.ServiceError | null>((resolve) => {
    const call = client.ClientStream((e: grpc.ServiceError | null) =>
      resolve(e),
    ) as grpc.ClientWritableStream<EchoRequest>;
    call.write(req({ fail_code: grpc.status.RESOURCE_EXHAUSTED, fail_message: 'quota' }));
    // The client does not end its side: the status has to come through on its own.
  });
  assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
  assert.equal(err?.details, 'quota');
});

test('a bidi call streams both ways: each reply comes before the next message is sent', async () => {
  const call = client.Bidi() as grpc.ClientDuplexStream<EchoRequest, EchoReply>;
  const replies: EchoReply[] = [];
  const next = (): Promise<EchoReply> =>
    new Promise((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
  // Only one message is ever outstanding: the exchange cannot pass if either side buffers.
  for (const word of ['one', 'two', 'three']) {
    const reply = next();
    call.write(req({ text: word }));
    replies.push(await reply);
  }
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.end();
  assert.deepEqual(
    replies.map((r) => r.text),
    ['ONE', 'TWO', 'THREE'],
  );
  assert.equal((await status).code, grpc.status.OK);
});

test('a cancelled call is cancelled at the app too', async () => {
  const call = client.Bidi() as grpc.ClientDuplexStream<EchoRequest, EchoReply>;
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  call.on('error', () => {});
  call.write(req({ text: 'wait-for-cancel', hang: true }));
  await eventually(() =>
    readEvents(events).includes('started Bidi wait-for-cancel deadline=Infinity'),
  );
  call.cancel();
  assert.equal((await status).code, grpc.status.CANCELLED);
  // The app has no deadline to go by: only the forwarded RST_STREAM can tell it.
  await eventually(() => readEvents(events).includes('cancelled Bidi wait-for-cancel'));
  // Bounded, and on failure it says which Bidi lines there were.
  const bidi = () =>
    p.lines.filter((l) => l.source === 'access' && l.path === '/pillion.test.Echo/Bidi');
  const cancelled = () => bidi().find((l) => l.error === 'client closed the stream');
  await eventually(() => cancelled() !== undefined, 10_000, 'the access line').catch((err) => {
    throw new Error(`${err.message}; Bidi lines: ${JSON.stringify(bidi())}`);
  });
  // The app never answered (no response head passed on): the client closed the stream.
  assert.equal(cancelled()?.status, 499, JSON.stringify(cancelled()));
});

test('a deadline reaches the app, and its expiry ends the call with DEADLINE_EXCEEDED', async () => {
  const deadline = Date.now() + 1500;
  const out = await unary(req({ text: 'too-slow', hang: true }), new grpc.Metadata(), { deadline });
  assert.equal(out.err?.code, grpc.status.DEADLINE_EXCEEDED);
  await eventually(() => readEvents(events).includes('started Unary too-slow deadline=set'));
  await eventually(() => readEvents(events).includes('cancelled Unary too-slow'));
});

test('gRPC over HTTP/1.1 gets 505 and never reaches the app', async () => {
  const before = readEvents(events).length;
  const r = await h1Request(port, '/pillion.test.Echo/Unary', {
    method: 'POST',
    headers: { 'content-type': 'application/grpc', te: 'trailers' },
    body: '\0\0\0\0\0',
  });
  assert.equal(r.status, 505);
  assert.match(r.body, /gRPC needs HTTP\/2/);
  assert.equal(r.headers.connection, 'close');
  const line = await p.waitForLog((l) => l.source === 'access' && l.status === 505);
  assert.equal(line.error, 'PILLION_GRPC_NEEDS_H2');
  assert.equal(readEvents(events).length, before);
});
