// HTTP/2 abuse patterns for B5, shared by the flood tests and bench/h2-floods.ts: each pattern
// makes its i-th abusive frame (or stream); `flood` sends them in bounded batches and records
// how the server answered; `legitimate` is one HTTP/1.1 and one HTTP/2 request.
import { connect as h2connect } from 'node:http2';
import { request } from 'node:https';
import {
  block,
  Flag,
  FrameType,
  frame,
  getFields,
  H2Raw,
  indexed,
  literal,
  literalIndexed,
  rst,
  settings,
} from './h2-crafter.ts';

export const MAX_ABUSIVE = 1000;

export interface FloodResult {
  sent: number;
  goaway?: { lastStream: number; code: number };
  closed: boolean;
  /** RST_STREAM frames the server sent. */
  resets: number;
  /**
   * Abusive units the server is known to have processed before it acted: streams up to the
   * GOAWAY's last stream id, or the PINGs and SETTINGS it acknowledged.
   */
  processed: number;
}

export interface Abuse {
  name: string;
  /** The frame(s) of abusive unit `i` (a frame, or a stream with its abusive frame). */
  make: (i: number) => Buffer;
  opening?: Buffer;
  /** The path its streams ask for, to count upstream starts on the spy. */
  path?: string;
  /** More frames than MAX_ABUSIVE are needed before the server acts (nghttp2's own limit). */
  limit?: number;
  /** The reason Pillion logs when it ends the session itself (its own budgets). */
  reason?: string;
}

export function windowUpdate(stream: number, increment: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(increment);
  return frame(FrameType.WINDOW_UPDATE, 0, stream, p);
}

export function priority(stream: number, dependsOn: number, weight = 15): Buffer {
  const p = Buffer.alloc(5);
  p.writeUInt32BE(dependsOn);
  p[4] = weight;
  return frame(FrameType.PRIORITY, 0, stream, p);
}

const get = (stream: number, path: string): Buffer =>
  frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, stream, block(getFields(path)));

export function post(stream: number, path: string, length: number): Buffer {
  return frame(
    FrameType.HEADERS,
    Flag.END_HEADERS,
    stream,
    block([
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'a.test'],
      [':path', path],
      ['content-length', String(length)],
    ]),
  );
}

const id = (i: number): number => 2 * i + 1;

/** MadeYouReset: valid requests followed by a frame that makes the server reset the stream. */
export const MADE_YOU_RESET: Abuse[] = [
  {
    name: 'MadeYouReset: WINDOW_UPDATE of 0 on the stream',
    path: '/myr-wu0',
    make: (i) => Buffer.concat([get(id(i), '/myr-wu0'), windowUpdate(id(i), 0)]),
  },
  {
    name: 'MadeYouReset: WINDOW_UPDATE overflowing the stream window',
    path: '/myr-wuo',
    make: (i) => Buffer.concat([get(id(i), '/myr-wuo'), windowUpdate(id(i), 0x7fffffff)]),
  },
  {
    name: 'MadeYouReset: DATA on a half-closed stream',
    path: '/myr-data',
    make: (i) =>
      Buffer.concat([get(id(i), '/myr-data'), frame(FrameType.DATA, 0, id(i), Buffer.from('x'))]),
  },
  {
    name: 'MadeYouReset: DATA longer than content-length',
    path: '/myr-cl',
    make: (i) =>
      Buffer.concat([
        post(id(i), '/myr-cl', 1),
        frame(FrameType.DATA, Flag.END_STREAM, id(i), Buffer.from('xx')),
      ]),
  },
  {
    name: 'MadeYouReset: trailers without END_STREAM',
    path: '/myr-tr',
    make: (i) =>
      Buffer.concat([
        post(id(i), '/myr-tr', 1),
        frame(FrameType.HEADERS, Flag.END_HEADERS, id(i), literal('x-t', '1')),
      ]),
  },
  {
    name: 'MadeYouReset: a pseudo-header in trailers',
    path: '/myr-ps',
    make: (i) =>
      Buffer.concat([
        post(id(i), '/myr-ps', 1),
        frame(FrameType.DATA, 0, id(i), Buffer.from('x')),
        frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id(i), literal(':path', '/')),
      ]),
  },
];

/** Every flood of B5 but the zero-window dribble (which is a matter of time, not of frames). */
export const FLOODS: Abuse[] = [
  {
    name: 'Rapid Reset',
    reason: 'H2_RAPID_RESET',
    path: '/rr',
    make: (i) => Buffer.concat([get(id(i), '/rr'), rst(id(i))]),
  },
  ...MADE_YOU_RESET,
  {
    name: 'PING flood',
    reason: 'H2_PING_FLOOD',
    make: () => frame(FrameType.PING, 0, 0, Buffer.alloc(8)),
  },
  { name: 'SETTINGS flood', reason: 'H2_SETTINGS_FLOOD', make: () => settings() },
  {
    name: 'empty DATA flood',
    opening: post(1, '/d', 10),
    make: () => frame(FrameType.DATA, 0, 1),
  },
  {
    name: 'CONTINUATION flood',
    opening: frame(FrameType.HEADERS, 0, 1, block(getFields('/c'))),
    make: (i) => frame(FrameType.CONTINUATION, 0, 1, literal(`x-c${i}`, 'v')),
  },
  {
    name: 'HPACK bomb',
    reason: 'H2_REFUSED_STREAMS',
    path: '/b',
    opening: frame(
      FrameType.HEADERS,
      Flag.END_HEADERS | Flag.END_STREAM,
      1,
      Buffer.concat([block(getFields('/b')), literalIndexed('x-bomb', 'b'.repeat(4000))]),
    ),
    make: (i) =>
      frame(
        FrameType.HEADERS,
        Flag.END_HEADERS | Flag.END_STREAM,
        2 * i + 3,
        Buffer.concat([block(getFields('/b')), ...Array.from({ length: 200 }, () => indexed(62))]),
      ),
  },
  { name: 'WINDOW_UPDATE overflow on stream 0', make: () => windowUpdate(0, 0x7fffffff) },
  {
    name: 'PRIORITY flood',
    make: (i) => priority(id(i % 5000), 0),
    // Node raises no event for PRIORITY frames: nghttp2's own glitch limit ends the session.
    limit: 20_000,
  },
];

function processed(h: H2Raw): number {
  const acks = h.frames.filter(
    (f) => (f.type === FrameType.PING || f.type === FrameType.SETTINGS) && f.flags & Flag.ACK,
  ).length;
  // The first SETTINGS ACK answers the connection preface's SETTINGS.
  const streams = h.goaway ? Math.floor((h.goaway.lastStream + 1) / 2) : 0;
  return Math.max(streams, acks - 1);
}

/**
 * Sends up to `max` units (by default `abuse.limit ?? MAX_ABUSIVE`) in batches of 10, stopping
 * at GOAWAY or close.
 */
export async function flood(
  port: number,
  abuse: Abuse,
  waitMs = 5000,
  max = abuse.limit ?? MAX_ABUSIVE,
): Promise<FloodResult> {
  const h = await H2Raw.open(port);
  if (abuse.opening) await h.send(abuse.opening);
  let sent = 0;
  while (sent < max && !h.closed && !h.goaway) {
    const batch: Buffer[] = [];
    for (let j = 0; j < 10; j++) batch.push(abuse.make(sent + j));
    if (!(await h.send(Buffer.concat(batch)))) break;
    sent += 10;
    await new Promise((r) => setImmediate(r));
  }
  await h.until(() => h.goaway !== undefined, waitMs);
  const resets = h.frames.filter((f) => f.type === FrameType.RST_STREAM).length;
  const result = { sent, goaway: h.goaway, closed: h.closed, resets, processed: processed(h) };
  h.close();
  return result;
}

/** How a PRIORITY burst ended: its PING answered after it, or the session ended first. */
export type BurstOutcome = 'answered' | 'goaway' | 'closed' | 'no answer';

/**
 * `n` PRIORITY frames (64 KiB writes, as fast as the socket takes them) on a fresh connection,
 * then a PING: `answered` if the server acknowledged that PING, so it processed every frame
 * before it without ending the session; `goaway` (with its code) if it ended it first.
 */
export async function priorityBurst(
  port: number,
  n: number,
): Promise<{ outcome: BurstOutcome; code?: number }> {
  const h = await H2Raw.open(port);
  await h.handshake();
  const one = priority(1, 0);
  for (let sent = 0; sent < n && !h.goaway && !h.closed; ) {
    const k = Math.min(4000, n - sent);
    await h.send(Buffer.concat(Array.from({ length: k }, () => one)));
    sent += k;
  }
  const payload = Buffer.from('prio-end');
  await h.send(frame(FrameType.PING, 0, 0, payload));
  const acked = (): boolean =>
    h.frames.some(
      (f) => f.type === FrameType.PING && f.flags & Flag.ACK && f.payload.equals(payload),
    );
  await h.until(() => acked() || h.goaway !== undefined, 5000);
  const g = h.goaway;
  const outcome: BurstOutcome = g
    ? 'goaway'
    : acked()
      ? 'answered'
      : h.closed
        ? 'closed'
        : 'no answer';
  h.close();
  return { outcome, code: g?.code };
}

/** One HTTP/1.1 request on a fresh connection: its status, or 0 on failure. */
export function h1Status(port: number, path = '/legit', timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, rejectUnauthorized: false, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** One HTTP/2 request on a fresh session: its status, or 0 on failure. */
export function h2Status(port: number, path = '/legit', timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    const s = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    const done = (status: number): void => {
      clearTimeout(timer);
      s.close();
      s.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => done(0), timeoutMs);
    s.on('error', () => done(0));
    const st = s.request({ ':path': path });
    let status = 0;
    st.on('response', (hd) => {
      status = Number(hd[':status']);
    });
    st.on('error', () => done(0));
    st.on('end', () => done(status));
    st.resume();
  });
}

/**
 * Zero-window dribble: SETTINGS_INITIAL_WINDOW_SIZE 0, `streams` requests, then one byte of
 * window at a time on ten of them every 100 ms, until the server ends the session or
 * MAX_ABUSIVE units (streams plus WINDOW_UPDATEs) were sent or `maxMs` passed.
 */
export async function dribble(
  port: number,
  path = '/',
  streams = 100,
  maxMs = 30_000,
): Promise<FloodResult> {
  const h = await H2Raw.open(port, settings([[4 /* INITIAL_WINDOW_SIZE */, 0]]));
  const ids = Array.from({ length: streams }, (_, i) => id(i));
  await h.send(Buffer.concat(ids.map((s) => get(s, path))));
  let sent = streams;
  const until = Date.now() + maxMs;
  while (sent < MAX_ABUSIVE && Date.now() < until && !h.closed && !h.goaway) {
    if (!(await h.send(Buffer.concat(ids.slice(0, 10).map((s) => windowUpdate(s, 1)))))) break;
    sent += 10;
    await new Promise((r) => setTimeout(r, 100));
  }
  await h.until(() => h.goaway !== undefined, 1000);
  const resets = h.frames.filter((f) => f.type === FrameType.RST_STREAM).length;
  const result = { sent, goaway: h.goaway, closed: h.closed, resets, processed: processed(h) };
  h.close();
  return result;
}
