// B6: the h2spec conformance cases (generic, http2 = RFC 7540, hpack = RFC 7541), rebuilt as data
// of our own from h2spec's case list: each case's id, its description, the frames it sends and
// the outcomes that pass it. h2-conformance.test.ts runs them against Pillion over TLS.
import {
  Flag,
  FrameType,
  frame,
  HUFFMAN_EOS,
  hpackInt,
  hpackStr,
  huffman,
  literal,
  rst,
  settings,
} from './h2-crafter.ts';

/** RFC 9113 §7 error codes. */
export const Err = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** A pause in a case's script: wait for a frame, then go on after it. */
export type Wait =
  /** The next SETTINGS frame (the ACK of the client's new settings). */
  | { wait: 'settings' }
  /** A stream's end: HEADERS or DATA with END_STREAM, or RST_STREAM NO_ERROR. */
  | { wait: 'streamEnd' }
  /** The next DATA frame. */
  | { wait: 'data' };

export type Step = Buffer | Wait;

/**
 * What passes a case (frames are read in order after the handshake; a frame that decides
 * nothing is skipped; a wait that runs out fails the case).
 */
export type Expect =
  /** GOAWAY with one of `codes`, or the connection closed. */
  | { kind: 'connectionError'; codes: number[] }
  /** RST_STREAM or GOAWAY with one of `codes`, or the connection closed. */
  | { kind: 'streamError'; codes: number[] }
  /** The connection closed. */
  | { kind: 'close' }
  /** The first HEADERS frame is on `stream` (and, stricter than h2spec, has `status`). */
  | { kind: 'response'; stream: number; status?: number }
  /** A frame of this type arrives. */
  | { kind: 'frame'; type: number }
  /** The first PING is an ACK carrying `data`; with `any`, any such ACK among PINGs (or, with
   * `orClose`, the connection closed); with `notFirst`, a PING carrying `notFirst` fails. */
  | { kind: 'pingAck'; data: Buffer; any?: boolean; orClose?: boolean; notFirst?: Buffer }
  /** The first SETTINGS frame has ACK set (true) or not (false). */
  | { kind: 'settings'; ack: boolean; first?: boolean }
  /** The first DATA frame is `length` octets long. */
  | { kind: 'dataLength'; length: number }
  /** The first GOAWAY carries `code` (no close instead). */
  | { kind: 'goaway'; code: number }
  /** The first RST_STREAM is on `stream` and carries `code`. */
  | { kind: 'reset'; stream: number; code: number }
  /**
   * Allow-list only: nothing decisive within the wait (no GOAWAY, no RST_STREAM, no close),
   * and a PING sent afterwards is answered.
   */
  | { kind: 'silence' };

export interface H2specCase {
  /** The case's id in h2spec's list: suite/section/number. */
  id: string;
  description: string;
  /**
   * false: no connection preface from the client (the script is all that is sent); 'preface':
   * the preface and SETTINGS only, no waiting for the exchange. Default: the full handshake.
   */
  handshake?: false | 'preface';
  /** What the client sends (and waits for) after the handshake; may read the server's SETTINGS. */
  steps: Step[] | ((peer: Map<number, number>) => Step[]);
  expect: Expect;
  /** When Pillion answers otherwise: what it does instead (asserted), and why that is kept. */
  allow?: { observed: Expect; reason: string };
  /** Request targets that must never reach the app (checked after the case's verdict). */
  appNeverSees?: string[];
}

type Fields = [string, string][];

/** What the allow-listed cases show instead: no answer at all, and the connection still works. */
const SILENCE: Expect = { kind: 'silence' };
const IGNORED_AFTER_CLIENT_RESET =
  'nghttp2 drops every frame for a stream the client has reset itself (it cannot tell them from frames already in flight when the reset was sent) instead of answering RST_STREAM STREAM_CLOSED; nothing reaches the app and the connection goes on. Pillion sees streams, not frames, so it cannot add the error.';
const IGNORED_AFTER_CLOSE =
  'nghttp2 forgets a stream once both sides have ended it and drops later DATA or HEADERS for it instead of a connection error STREAM_CLOSED; nothing reaches the app and the connection goes on. Pillion sees streams, not frames, so it cannot add the error.';
const PRIORITY_IGNORED =
  'nghttp2 (1.65 and later, bundled with Node) no longer processes PRIORITY frames at all, as RFC 9113 §5.3.2 deprecates the RFC 7540 priority scheme: the frame is dropped unchecked, changes no state and reaches nothing. Node raises no event for it, so Pillion cannot add the error.';

/** The request fields every case starts from. */
const common = (method = 'GET', path = '/'): Fields => [
  [':method', method],
  [':scheme', 'https'],
  [':path', path],
  [':authority', 'a.test'],
];
const enc = (fields: Fields): Buffer => Buffer.concat(fields.map(([n, v]) => literal(n, v)));
/** Filler fields: x-dummy<i> with 4,000 octets each. */
const dummy = (n = 1): Buffer =>
  enc(Array.from({ length: n }, (_, i): [string, string] => [`x-dummy${i}`, 'x'.repeat(4000)]));

const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
};

interface HeadersOpts {
  end?: boolean;
  endHeaders?: boolean;
  /** PRIORITY fields: dependency, weight, exclusive. */
  priority?: { dep: number; weight: number; exclusive?: boolean };
  padLength?: number;
}

function headers(stream: number, blockFragment: Buffer, o: HeadersOpts = {}): Buffer {
  const { end = true, endHeaders = true } = o;
  let flags = (end ? Flag.END_STREAM : 0) | (endHeaders ? Flag.END_HEADERS : 0);
  const parts: Buffer[] = [];
  if (o.padLength !== undefined) {
    flags |= Flag.PADDED;
    parts.push(Buffer.from([o.padLength]));
  }
  if (o.priority) {
    flags |= 0x20;
    parts.push(u32(o.priority.dep | (o.priority.exclusive ? 0x80000000 : 0)));
    parts.push(Buffer.from([o.priority.weight]));
  }
  parts.push(blockFragment);
  if (o.padLength !== undefined) parts.push(Buffer.alloc(o.padLength));
  return frame(FrameType.HEADERS, flags, stream, Buffer.concat(parts));
}

const data = (stream: number, body: string | Buffer, end = true): Buffer =>
  frame(FrameType.DATA, end ? Flag.END_STREAM : 0, stream, Buffer.from(body));
const cont = (stream: number, blockFragment: Buffer, endHeaders = true): Buffer =>
  frame(FrameType.CONTINUATION, endHeaders ? Flag.END_HEADERS : 0, stream, blockFragment);
const priority = (stream: number, dep: number, weight: number, exclusive = false): Buffer =>
  frame(
    FrameType.PRIORITY,
    0,
    stream,
    Buffer.concat([u32(dep | (exclusive ? 0x80000000 : 0)), Buffer.from([weight])]),
  );
const windowUpdate = (stream: number, inc: number): Buffer =>
  frame(FrameType.WINDOW_UPDATE, 0, stream, u32(inc));
const ping = (payload: Buffer | string = Buffer.alloc(8), ack = false): Buffer =>
  frame(
    FrameType.PING,
    ack ? Flag.ACK : 0,
    0,
    Buffer.concat([Buffer.from(payload), Buffer.alloc(8)]).subarray(0, 8),
  );
const goaway = (last: number, code: number, debug = ''): Buffer =>
  frame(FrameType.GOAWAY, 0, 0, Buffer.concat([u32(last), u32(code), Buffer.from(debug)]));
/** A raw frame header with any length, type, flags and stream word (reserved bit included). */
const rawHead = (length: number, type: number, flags: number, streamWord: number): Buffer => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamWord >>> 0, 5);
  return h;
};
/** An extension frame of a type no RFC defines (0x16), 8 zero octets on stream 0. */
const unknownFrame = (): Buffer => Buffer.concat([rawHead(8, 0x16, 0, 0), Buffer.alloc(8)]);

const GET = enc(common());
const POST = enc(common('POST'));
const H2SPEC = Buffer.from('h2spec\0\0');
const ZEROS = Buffer.alloc(8);

/** HPACK representations of `user-agent: h2spec` and `x-test: h2spec` (RFC 7541 §6.1–6.3). */
const USER_AGENT = 58; // static table index
const withIndexedName = (prefixBits: number, first: number, h: boolean): Buffer =>
  Buffer.concat([hpackInt(USER_AGENT, prefixBits, first), hpackStr('h2spec', h)]);
const withNewName = (first: number, h: boolean): Buffer =>
  Buffer.concat([Buffer.from([first]), hpackStr('x-test', h), hpackStr('h2spec', h)]);

/** GET with extra HPACK representations after (or before) the common fields. */
const getWith = (extra: Buffer, before = false): Step[] => [
  headers(1, before ? Buffer.concat([extra, GET]) : Buffer.concat([GET, extra])),
];

/** A request with exactly these fields (the §8.1.2 cases). */
const malformed = (fields: Fields): Step[] => [headers(1, enc(fields))];

const connErr = (...codes: number[]): Expect => ({ kind: 'connectionError', codes });
const streamErr = (...codes: number[]): Expect => ({ kind: 'streamError', codes });
const response = (stream = 1): Expect => ({ kind: 'response', stream, status: 200 });
const P = Err.PROTOCOL_ERROR;

const GENERIC: H2specCase[] = [
  {
    id: 'generic/1/1',
    description: 'Sends a client connection preface',
    handshake: 'preface',
    steps: [],
    expect: { kind: 'settings', ack: false, first: true },
  },
  {
    id: 'generic/2/1',
    description: 'Sends a PRIORITY frame on idle stream',
    steps: [priority(1, 0, 255), ping()],
    expect: { kind: 'pingAck', data: ZEROS },
  },
  {
    id: 'generic/2/2',
    description: 'Sends a WINDOW_UPDATE frame on half-closed (remote) stream',
    steps: [settings([[Setting.INITIAL_WINDOW_SIZE, 0]]), headers(1, GET), windowUpdate(1, 1)],
    expect: { kind: 'frame', type: FrameType.DATA },
  },
  {
    id: 'generic/2/3',
    description: 'Sends a PRIORITY frame on half-closed (remote) stream',
    steps: [
      settings([[Setting.INITIAL_WINDOW_SIZE, 0]]),
      headers(1, GET),
      priority(1, 0, 255),
      windowUpdate(1, 1),
    ],
    expect: { kind: 'frame', type: FrameType.DATA },
  },
  {
    id: 'generic/2/4',
    description: 'Sends a RST_STREAM frame on half-closed (remote) stream',
    steps: [headers(1, GET), rst(1, Err.CANCEL), ping()],
    expect: { kind: 'pingAck', data: ZEROS, any: true, orClose: true },
  },
  {
    id: 'generic/2/5',
    description: 'Sends a PRIORITY frame on closed stream',
    steps: [headers(1, GET), { wait: 'streamEnd' }, priority(1, 0, 255), ping()],
    expect: { kind: 'pingAck', data: ZEROS },
  },
  {
    id: 'generic/3.1/1',
    description: 'Sends a DATA frame',
    steps: [headers(1, POST, { end: false }), data(1, 'test')],
    expect: response(),
  },
  {
    id: 'generic/3.1/2',
    description: 'Sends multiple DATA frames',
    steps: [headers(1, POST, { end: false }), data(1, 'test', false), data(1, 'test')],
    expect: response(),
  },
  {
    id: 'generic/3.1/3',
    description: 'Sends a DATA frame with padding',
    steps: [
      headers(1, POST, { end: false }),
      frame(
        FrameType.DATA,
        Flag.END_STREAM | Flag.PADDED,
        1,
        Buffer.concat([Buffer.from([6]), Buffer.from('test'), Buffer.from('padded')]),
      ),
    ],
    expect: response(),
  },
  {
    id: 'generic/3.2/1',
    description: 'Sends a HEADERS frame',
    steps: [headers(1, GET)],
    expect: response(),
  },
  {
    id: 'generic/3.2/2',
    description: 'Sends a HEADERS frame with padding',
    steps: [headers(1, GET, { padLength: 8 })],
    expect: response(),
  },
  {
    id: 'generic/3.2/3',
    description: 'Sends a HEADERS frame with priority',
    steps: [headers(1, GET, { priority: { dep: 0, weight: 255 } })],
    expect: response(),
  },
  {
    id: 'generic/3.3/1',
    description: 'Sends a PRIORITY frame with priority 1',
    steps: [priority(1, 0, 0), headers(1, GET)],
    expect: response(),
  },
  {
    id: 'generic/3.3/2',
    description: 'Sends a PRIORITY frame with priority 256',
    steps: [priority(1, 0, 255), headers(1, GET)],
    expect: response(),
  },
  {
    id: 'generic/3.3/3',
    description: 'Sends a PRIORITY frame with stream dependency',
    steps: [priority(3, 1, 0), headers(1, GET)],
    expect: response(),
  },
  {
    id: 'generic/3.3/4',
    description: 'Sends a PRIORITY frame with exclusive',
    steps: [priority(1, 0, 0, true), headers(1, GET)],
    expect: response(),
  },
  {
    id: 'generic/3.3/5',
    description:
      'Sends a PRIORITY frame for an idle stream, then send a HEADER frame for a lower stream ID',
    steps: [priority(3, 0, 255), headers(1, GET)],
    expect: response(),
  },
  {
    id: 'generic/3.4/1',
    description: 'Sends a RST_STREAM frame',
    steps: [headers(1, GET, { end: false }), rst(1, Err.CANCEL), ping()],
    expect: { kind: 'pingAck', data: ZEROS, any: true, orClose: true },
  },
  {
    id: 'generic/3.5/1',
    description: 'Sends a SETTINGS frame',
    steps: [
      settings([
        [Setting.HEADER_TABLE_SIZE, 4096],
        [Setting.ENABLE_PUSH, 1],
        [Setting.MAX_CONCURRENT_STREAMS, 100],
        [Setting.INITIAL_WINDOW_SIZE, 65535],
        [Setting.MAX_FRAME_SIZE, 16384],
        [Setting.MAX_HEADER_LIST_SIZE, 100],
      ]),
    ],
    expect: { kind: 'settings', ack: true },
  },
  {
    id: 'generic/3.7/1',
    description: 'Sends a PING frame',
    steps: [ping(H2SPEC)],
    expect: { kind: 'pingAck', data: H2SPEC },
  },
  {
    id: 'generic/3.8/1',
    description: 'Sends a GOAWAY frame',
    steps: [goaway(0, Err.NO_ERROR, 'h2spec')],
    expect: { kind: 'close' },
  },
  {
    id: 'generic/3.9/1',
    description: 'Sends a WINDOW_UPDATE frame with stream ID 0',
    steps: [windowUpdate(0, 1), ping()],
    expect: { kind: 'frame', type: FrameType.PING },
  },
  {
    id: 'generic/3.9/2',
    description: 'Sends a WINDOW_UPDATE frame with stream ID 1',
    steps: [headers(1, GET), windowUpdate(1, 1)],
    expect: { kind: 'frame', type: FrameType.HEADERS },
  },
  {
    id: 'generic/3.10/1',
    description: 'Sends a CONTINUATION frame',
    steps: [headers(1, GET.subarray(0, 5), { endHeaders: false }), cont(1, GET.subarray(5))],
    expect: response(),
  },
  {
    id: 'generic/3.10/2',
    description: 'Sends multiple CONTINUATION frames',
    steps: [
      headers(1, GET.subarray(0, 5), { endHeaders: false }),
      cont(1, GET.subarray(5, 10), false),
      cont(1, GET.subarray(10)),
    ],
    expect: response(),
  },
  {
    id: 'generic/4/1',
    description: 'Sends a GET request',
    steps: [headers(1, GET)],
    expect: response(),
  },
  {
    id: 'generic/4/2',
    description: 'Sends a HEAD request',
    steps: [headers(1, enc(common('HEAD')))],
    expect: response(),
  },
  {
    id: 'generic/4/3',
    description: 'Sends a POST request',
    steps: [headers(1, POST, { end: false }), data(1, 'test')],
    expect: response(),
  },
  {
    id: 'generic/4/4',
    description: 'Sends a POST request with trailers',
    steps: [
      headers(1, enc([...common('POST'), ['trailer', 'x-test']]), { end: false }),
      data(1, 'test', false),
      headers(1, enc([['x-test', 'ok']])),
    ],
    expect: response(),
  },
  {
    id: 'generic/5/1',
    description: 'Sends a indexed header field representation',
    steps: getWith(hpackInt(USER_AGENT, 7, 0x80)),
    expect: response(),
  },
  {
    id: 'generic/5/2',
    description: 'Sends a literal header field with incremental indexing - indexed name',
    steps: getWith(withIndexedName(6, 0x40, false)),
    expect: response(),
  },
  {
    id: 'generic/5/3',
    description:
      'Sends a literal header field with incremental indexing - indexed name (with Huffman coding)',
    steps: getWith(withIndexedName(6, 0x40, true)),
    expect: response(),
  },
  {
    id: 'generic/5/4',
    description: 'Sends a literal header field with incremental indexing - new name',
    steps: getWith(withNewName(0x40, false)),
    expect: response(),
  },
  {
    id: 'generic/5/5',
    description:
      'Sends a literal header field with incremental indexing - new name (with Huffman coding)',
    steps: getWith(withNewName(0x40, true)),
    expect: response(),
  },
  {
    id: 'generic/5/6',
    description: 'Sends a literal header field without indexing - indexed name',
    steps: getWith(withIndexedName(4, 0x00, false)),
    expect: response(),
  },
  {
    id: 'generic/5/7',
    description:
      'Sends a literal header field without indexing - indexed name (with Huffman coding)',
    steps: getWith(withIndexedName(4, 0x00, true)),
    expect: response(),
  },
  {
    id: 'generic/5/8',
    description: 'Sends a literal header field without indexing - new name',
    steps: getWith(withNewName(0x00, false)),
    expect: response(),
  },
  {
    id: 'generic/5/9',
    description: 'Sends a literal header field without indexing - new name (huffman encoded)',
    steps: getWith(withNewName(0x00, true)),
    expect: response(),
  },
  {
    id: 'generic/5/10',
    description: 'Sends a literal header field never indexed - indexed name',
    steps: getWith(withIndexedName(4, 0x10, false)),
    expect: response(),
  },
  {
    id: 'generic/5/11',
    description: 'Sends a literal header field never indexed - indexed name (huffman encoded)',
    steps: getWith(withIndexedName(4, 0x10, true)),
    expect: response(),
  },
  {
    id: 'generic/5/12',
    description: 'Sends a literal header field never indexed - new name',
    steps: getWith(withNewName(0x10, false)),
    expect: response(),
  },
  {
    id: 'generic/5/13',
    description: 'Sends a literal header field never indexed - new name (huffman encoded)',
    steps: getWith(withNewName(0x10, true)),
    expect: response(),
  },
  {
    id: 'generic/5/14',
    description: 'Sends a dynamic table size update',
    steps: getWith(hpackInt(0, 5, 0x20), true),
    expect: response(),
  },
  {
    id: 'generic/5/15',
    description: 'Sends multiple dynamic table size update',
    steps: getWith(Buffer.concat([hpackInt(0, 5, 0x20), hpackInt(4096, 5, 0x20)]), true),
    expect: response(),
  },
];

const HTTP2: H2specCase[] = [
  // 3.5 HTTP/2 Connection Preface
  {
    id: 'http2/3.5/1',
    description: 'Sends client connection preface',
    handshake: 'preface',
    steps: [],
    expect: { kind: 'settings', ack: false },
  },
  {
    id: 'http2/3.5/2',
    description: 'Sends invalid connection preface',
    handshake: false,
    steps: [Buffer.from('INVALID CONNECTION PREFACE\r\n\r\n')],
    expect: { kind: 'close' },
  },
  // 4.1 Frame Format
  {
    id: 'http2/4.1/1',
    description: 'Sends a frame with unknown type',
    steps: [unknownFrame(), ping()],
    expect: { kind: 'frame', type: FrameType.PING },
  },
  {
    id: 'http2/4.1/2',
    description: 'Sends a frame with undefined flag',
    steps: [Buffer.concat([rawHead(8, FrameType.PING, 0x16, 0), ZEROS])],
    expect: { kind: 'frame', type: FrameType.PING },
  },
  {
    id: 'http2/4.1/3',
    description: 'Sends a frame with reserved field bit',
    steps: [Buffer.concat([rawHead(8, FrameType.PING, 0x16, 0x80000000), ZEROS])],
    expect: { kind: 'frame', type: FrameType.PING },
  },
  // 4.2 Frame Size
  {
    id: 'http2/4.2/1',
    description: 'Sends a DATA frame with 2^14 octets in length',
    steps: [headers(1, POST, { end: false }), data(1, 'x'.repeat(16384))],
    expect: { kind: 'frame', type: FrameType.HEADERS },
  },
  {
    id: 'http2/4.2/2',
    description: 'Sends a large size DATA frame that exceeds the SETTINGS_MAX_FRAME_SIZE',
    steps: [headers(1, POST, { end: false }), data(1, 'x'.repeat(16385))],
    expect: streamErr(Err.FRAME_SIZE_ERROR),
  },
  {
    id: 'http2/4.2/3',
    description: 'Sends a large size HEADERS frame that exceeds the SETTINGS_MAX_FRAME_SIZE',
    steps: [headers(1, Buffer.concat([GET, dummy(5)]))],
    expect: connErr(Err.FRAME_SIZE_ERROR),
  },
  // 4.3 Header Compression and Decompression
  {
    id: 'http2/4.3/1',
    description: 'Sends invalid header block fragment',
    // A literal with incremental indexing, without its name and value.
    steps: [Buffer.concat([rawHead(1, FrameType.HEADERS, 0x05, 1), Buffer.from([0x40])])],
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'http2/4.3/2',
    description: 'Sends a PRIORITY frame while sending the header blocks',
    steps: [
      headers(1, GET, { end: false, endHeaders: false }),
      priority(1, 0, 255),
      cont(1, dummy()),
    ],
    expect: connErr(P),
  },
  {
    id: 'http2/4.3/3',
    description: 'Sends a HEADERS frame to another stream while sending the header blocks',
    steps: [headers(1, GET, { end: false, endHeaders: false }), headers(3, GET), cont(1, dummy())],
    expect: connErr(P),
  },
  // 5.1 Stream States
  {
    id: 'http2/5.1/1',
    description: 'idle: Sends a DATA frame',
    steps: [data(1, 'test')],
    expect: connErr(P),
  },
  {
    id: 'http2/5.1/2',
    description: 'idle: Sends a RST_STREAM frame',
    steps: [rst(1, Err.CANCEL)],
    expect: connErr(P),
  },
  {
    id: 'http2/5.1/3',
    description: 'idle: Sends a WINDOW_UPDATE frame',
    steps: [windowUpdate(1, 100)],
    expect: connErr(P),
  },
  {
    id: 'http2/5.1/4',
    description: 'idle: Sends a CONTINUATION frame',
    steps: [cont(1, GET)],
    expect: connErr(P),
  },
  {
    id: 'http2/5.1/5',
    description: 'half closed (remote): Sends a DATA frame',
    steps: [headers(1, GET), data(1, 'test')],
    expect: streamErr(Err.STREAM_CLOSED),
  },
  {
    id: 'http2/5.1/6',
    description: 'half closed (remote): Sends a HEADERS frame',
    steps: [headers(1, GET), headers(1, GET)],
    expect: streamErr(Err.STREAM_CLOSED),
  },
  {
    id: 'http2/5.1/7',
    description: 'half closed (remote): Sends a CONTINUATION frame',
    steps: [headers(1, GET), cont(1, GET)],
    expect: streamErr(Err.STREAM_CLOSED, P),
  },
  {
    id: 'http2/5.1/8',
    description: 'closed: Sends a DATA frame after sending RST_STREAM frame',
    steps: [headers(1, GET, { end: false }), rst(1, Err.CANCEL), data(1, 'test')],
    expect: streamErr(Err.STREAM_CLOSED),
    allow: { observed: SILENCE, reason: IGNORED_AFTER_CLIENT_RESET },
  },
  {
    id: 'http2/5.1/9',
    description: 'closed: Sends a HEADERS frame after sending RST_STREAM frame',
    steps: [
      headers(1, GET, { end: false }),
      rst(1, Err.CANCEL),
      headers(1, enc(common('GET', '/b6/after-reset'))),
    ],
    expect: streamErr(Err.STREAM_CLOSED),
    allow: { observed: SILENCE, reason: IGNORED_AFTER_CLIENT_RESET },
    appNeverSees: ['/b6/after-reset'],
  },
  {
    id: 'http2/5.1/10',
    description: 'closed: Sends a CONTINUATION frame after sending RST_STREAM frame',
    steps: [headers(1, GET, { end: false }), rst(1, Err.CANCEL), cont(1, dummy())],
    expect: streamErr(Err.STREAM_CLOSED, P),
  },
  {
    id: 'http2/5.1/11',
    description: 'closed: Sends a DATA frame',
    steps: [headers(1, GET), { wait: 'streamEnd' }, data(1, 'test')],
    expect: connErr(Err.STREAM_CLOSED),
    allow: { observed: SILENCE, reason: IGNORED_AFTER_CLOSE },
  },
  {
    id: 'http2/5.1/12',
    description: 'closed: Sends a HEADERS frame',
    steps: [
      headers(1, GET),
      { wait: 'streamEnd' },
      headers(1, enc(common('GET', '/b6/after-close'))),
    ],
    expect: connErr(Err.STREAM_CLOSED),
    allow: { observed: SILENCE, reason: IGNORED_AFTER_CLOSE },
    appNeverSees: ['/b6/after-close'],
  },
  {
    id: 'http2/5.1/13',
    description: 'closed: Sends a CONTINUATION frame',
    steps: [headers(1, GET), { wait: 'streamEnd' }, cont(1, dummy())],
    expect: connErr(Err.STREAM_CLOSED, P),
  },
  // 5.1.1 Stream Identifiers
  {
    id: 'http2/5.1.1/1',
    description: 'Sends even-numbered stream identifier',
    steps: [headers(2, GET)],
    expect: connErr(P),
  },
  {
    id: 'http2/5.1.1/2',
    description: 'Sends stream identifier that is numerically smaller than previous',
    steps: [headers(5, GET), headers(3, enc(common('GET', '/b6/lower-id')))],
    expect: connErr(P),
    appNeverSees: ['/b6/lower-id'],
    allow: {
      observed: SILENCE,
      reason:
        'nghttp2 ignores a HEADERS frame whose stream id is lower than the last one unless it knows that stream to be closed (it cannot tell a late trailer from a bad id): stream 3 is never opened, nothing of it reaches the app, stream 5 is served. Pillion sees streams, not frames, so it cannot add the error.',
    },
  },
  // 5.1.2 Stream Concurrency
  {
    id: 'http2/5.1.2/1',
    description:
      'Sends HEADERS frames that causes their advertised concurrent stream limit to be exceeded',
    steps: (peer) => {
      const max = peer.get(Setting.MAX_CONCURRENT_STREAMS);
      if (max === undefined) throw new Error('the server advertises no MAX_CONCURRENT_STREAMS');
      return [
        // A zero window keeps every answered stream open.
        settings([[Setting.INITIAL_WINDOW_SIZE, 0]]),
        ...Array.from({ length: max + 1 }, (_, i) => headers(2 * i + 1, GET)),
      ];
    },
    expect: streamErr(P, Err.REFUSED_STREAM),
  },
  // 5.3.1 Stream Dependencies
  {
    id: 'http2/5.3.1/1',
    description: 'Sends HEADERS frame that depends on itself',
    steps: [headers(1, GET, { priority: { dep: 1, weight: 255 } })],
    expect: streamErr(P),
  },
  {
    id: 'http2/5.3.1/2',
    description: 'Sends PRIORITY frame that depend on itself',
    steps: [priority(1, 1, 255)],
    expect: streamErr(P),
    allow: { observed: SILENCE, reason: PRIORITY_IGNORED },
  },
  // 5.4.1 Connection Error Handling
  {
    id: 'http2/5.4.1/1',
    description: 'Sends an invalid PING frame for connection close',
    steps: [Buffer.concat([rawHead(8, FrameType.PING, 0, 3), ZEROS])],
    expect: { kind: 'close' },
  },
  // 5.5 Extending HTTP/2
  {
    id: 'http2/5.5/1',
    description: 'Sends an unknown extension frame',
    steps: [unknownFrame(), ping()],
    expect: { kind: 'frame', type: FrameType.PING },
  },
  {
    id: 'http2/5.5/2',
    description: 'Sends an unknown extension frame in the middle of a header block',
    steps: [headers(1, GET, { endHeaders: false }), unknownFrame()],
    expect: connErr(P),
  },
  // 6.1 DATA
  {
    id: 'http2/6.1/1',
    description: 'Sends a DATA frame with 0x0 stream identifier',
    steps: [data(0, 'test')],
    expect: connErr(P),
  },
  {
    id: 'http2/6.1/2',
    description:
      'Sends a DATA frame on the stream that is not in "open" or "half-closed (local)" state',
    steps: [headers(1, POST), data(1, 'test')],
    expect: streamErr(Err.STREAM_CLOSED),
  },
  {
    id: 'http2/6.1/3',
    description: 'Sends a DATA frame with invalid pad length',
    steps: [
      headers(1, enc([...common('POST'), ['content-length', '4']]), { end: false }),
      // Length 5, pad length 6.
      Buffer.concat([
        rawHead(5, FrameType.DATA, Flag.END_STREAM | Flag.PADDED, 1),
        Buffer.from([6]),
        Buffer.from('Test'),
      ]),
    ],
    expect: connErr(P),
  },
  // 6.2 HEADERS
  {
    id: 'http2/6.2/1',
    description: 'Sends a HEADERS frame without the END_HEADERS flag, and a PRIORITY frame',
    steps: [
      headers(1, GET, { end: false, endHeaders: false }),
      priority(1, 0, 255),
      cont(1, dummy()),
    ],
    expect: connErr(P),
  },
  {
    id: 'http2/6.2/2',
    description: 'Sends a HEADERS frame to another stream while sending a HEADERS frame',
    steps: [headers(1, GET, { end: false, endHeaders: false }), headers(3, GET), cont(1, dummy())],
    expect: connErr(P),
  },
  {
    id: 'http2/6.2/3',
    description: 'Sends a HEADERS frame with 0x0 stream identifier',
    steps: [headers(0, GET)],
    expect: connErr(P),
  },
  {
    id: 'http2/6.2/4',
    description: 'Sends a HEADERS frame with invalid pad length',
    // Frame length = fragment + 1, pad length = fragment + 2.
    steps: [
      Buffer.concat([
        rawHead(GET.length + 1, FrameType.HEADERS, 0x0d, 1),
        Buffer.from([GET.length + 2]),
        GET,
      ]),
    ],
    expect: streamErr(P),
  },
  // 6.3 PRIORITY
  {
    id: 'http2/6.3/1',
    description: 'Sends a PRIORITY frame with 0x0 stream identifier',
    steps: [priority(0, 0, 255)],
    expect: connErr(P),
    allow: { observed: SILENCE, reason: PRIORITY_IGNORED },
  },
  {
    id: 'http2/6.3/2',
    description: 'Sends a PRIORITY frame with a length other than 5 octets',
    steps: [
      headers(1, GET),
      Buffer.concat([rawHead(4, FrameType.PRIORITY, 0, 1), u32(0x80000001)]),
    ],
    expect: streamErr(Err.FRAME_SIZE_ERROR),
  },
  // 6.4 RST_STREAM
  {
    id: 'http2/6.4/1',
    description: 'Sends a RST_STREAM frame with 0x0 stream identifier',
    steps: [rst(0, Err.CANCEL)],
    expect: connErr(P),
  },
  {
    id: 'http2/6.4/2',
    description: 'Sends a RST_STREAM frame on a idle stream',
    steps: [rst(1, Err.CANCEL)],
    expect: connErr(P),
  },
  {
    id: 'http2/6.4/3',
    description: 'Sends a RST_STREAM frame with a length other than 4 octets',
    steps: [
      headers(1, GET),
      Buffer.concat([rawHead(3, FrameType.RST_STREAM, 0, 1), Buffer.alloc(3)]),
    ],
    expect: streamErr(Err.FRAME_SIZE_ERROR),
  },
  // 6.5 SETTINGS
  {
    id: 'http2/6.5/1',
    description: 'Sends a SETTINGS frame with ACK flag and payload',
    steps: [Buffer.concat([rawHead(1, FrameType.SETTINGS, Flag.ACK, 0), Buffer.alloc(1)])],
    expect: connErr(Err.FRAME_SIZE_ERROR),
  },
  {
    id: 'http2/6.5/2',
    description: 'Sends a SETTINGS frame with a stream identifier other than 0x0',
    steps: [
      Buffer.concat([
        rawHead(6, FrameType.SETTINGS, 0, 1),
        Buffer.from([0, Setting.MAX_CONCURRENT_STREAMS]),
        u32(100),
      ]),
    ],
    expect: connErr(P),
  },
  {
    id: 'http2/6.5/3',
    description: 'Sends a SETTINGS frame with a length other than a multiple of 6 octets',
    steps: [
      Buffer.concat([
        rawHead(8, FrameType.SETTINGS, 0, 0),
        Buffer.from([0, Setting.MAX_CONCURRENT_STREAMS]),
        u32(100),
        Buffer.from([0, Setting.ENABLE_PUSH]),
      ]),
    ],
    expect: streamErr(P, Err.FRAME_SIZE_ERROR),
  },
  // 6.5.2 Defined SETTINGS Parameters
  {
    id: 'http2/6.5.2/1',
    description: 'SETTINGS_ENABLE_PUSH (0x2): Sends the value other than 0 or 1',
    steps: [settings([[Setting.ENABLE_PUSH, 2]])],
    expect: connErr(P),
  },
  {
    id: 'http2/6.5.2/2',
    description:
      'SETTINGS_INITIAL_WINDOW_SIZE (0x4): Sends the value above the maximum flow control window size',
    steps: [settings([[Setting.INITIAL_WINDOW_SIZE, 2 ** 31]])],
    expect: connErr(Err.FLOW_CONTROL_ERROR),
  },
  {
    id: 'http2/6.5.2/3',
    description: 'SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value below the initial value',
    steps: [settings([[Setting.MAX_FRAME_SIZE, 16383]])],
    expect: connErr(P),
  },
  {
    id: 'http2/6.5.2/4',
    description:
      'SETTINGS_MAX_FRAME_SIZE (0x5): Sends the value above the maximum allowed frame size',
    steps: [settings([[Setting.MAX_FRAME_SIZE, 2 ** 24]])],
    expect: connErr(P),
  },
  {
    id: 'http2/6.5.2/5',
    description: 'Sends a SETTINGS frame with unknown identifier',
    steps: [settings([[0xff, 1]]), ping()],
    expect: { kind: 'frame', type: FrameType.PING },
  },
  // 6.5.3 Settings Synchronization
  {
    id: 'http2/6.5.3/1',
    description: 'Sends multiple values of SETTINGS_INITIAL_WINDOW_SIZE',
    steps: [
      settings([
        [Setting.INITIAL_WINDOW_SIZE, 100],
        [Setting.INITIAL_WINDOW_SIZE, 1],
      ]),
      { wait: 'settings' },
      headers(1, GET),
    ],
    expect: { kind: 'dataLength', length: 1 },
  },
  {
    id: 'http2/6.5.3/2',
    description: 'Sends a SETTINGS frame without ACK flag',
    steps: [settings([[Setting.ENABLE_PUSH, 0]])],
    expect: { kind: 'settings', ack: true },
  },
  // 6.7 PING
  {
    id: 'http2/6.7/1',
    description: 'Sends a PING frame',
    steps: [ping(H2SPEC)],
    expect: { kind: 'pingAck', data: H2SPEC, any: true },
  },
  {
    id: 'http2/6.7/2',
    description: 'Sends a PING frame with ACK',
    steps: [ping('invalid', true), ping(H2SPEC)],
    expect: {
      kind: 'pingAck',
      data: H2SPEC,
      any: true,
      notFirst: Buffer.from('invalid\0'),
    },
    allow: {
      observed: { kind: 'goaway', code: Err.INTERNAL_ERROR },
      reason:
        'Node ends the session (GOAWAY INTERNAL_ERROR) on a PING ACK it never asked for: no legitimate peer sends one, so Node treats it as abuse. RFC 9113 §6.7 only forbids answering such a PING; ending the connection is a safe, stricter answer, and Pillion keeps it.',
    },
  },
  {
    id: 'http2/6.7/3',
    description: 'Sends a PING frame with a stream identifier field value other than 0x0',
    steps: [Buffer.concat([rawHead(8, FrameType.PING, 0, 1), ZEROS])],
    expect: connErr(P),
  },
  {
    id: 'http2/6.7/4',
    description: 'Sends a PING frame with a length field value other than 8',
    steps: [Buffer.concat([rawHead(6, FrameType.PING, 0, 0), Buffer.alloc(6)])],
    expect: connErr(Err.FRAME_SIZE_ERROR),
  },
  // 6.8 GOAWAY
  {
    id: 'http2/6.8/1',
    description: 'Sends a GOAWAY frame with a stream identifier other than 0x0',
    steps: [Buffer.concat([rawHead(8, FrameType.GOAWAY, 0, 1), Buffer.alloc(8)])],
    expect: connErr(P),
  },
  // 6.9 WINDOW_UPDATE
  {
    id: 'http2/6.9/1',
    description: 'Sends a WINDOW_UPDATE frame with a flow control window increment of 0',
    steps: [windowUpdate(0, 0)],
    expect: connErr(P),
  },
  {
    id: 'http2/6.9/2',
    description:
      'Sends a WINDOW_UPDATE frame with a flow control window increment of 0 on a stream',
    steps: [headers(1, GET, { end: false }), windowUpdate(1, 0)],
    expect: streamErr(P),
  },
  {
    id: 'http2/6.9/3',
    description: 'Sends a WINDOW_UPDATE frame with a length other than 4 octets',
    steps: [Buffer.concat([rawHead(3, FrameType.WINDOW_UPDATE, 0, 0), Buffer.from([0, 0, 1])])],
    expect: connErr(Err.FRAME_SIZE_ERROR),
  },
  // 6.9.1 The Flow-Control Window
  {
    id: 'http2/6.9.1/1',
    description: 'Sends SETTINGS frame to set the initial window size to 1 and sends HEADERS frame',
    steps: [settings([[Setting.INITIAL_WINDOW_SIZE, 1]]), { wait: 'settings' }, headers(1, GET)],
    expect: { kind: 'dataLength', length: 1 },
  },
  {
    id: 'http2/6.9.1/2',
    description:
      'Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1',
    steps: [windowUpdate(0, 2 ** 31 - 1), windowUpdate(0, 2 ** 31 - 1)],
    expect: { kind: 'goaway', code: Err.FLOW_CONTROL_ERROR },
  },
  {
    id: 'http2/6.9.1/3',
    description:
      'Sends multiple WINDOW_UPDATE frames increasing the flow control window to above 2^31-1 on a stream',
    steps: [
      headers(1, GET, { end: false }),
      windowUpdate(1, 2 ** 31 - 1),
      windowUpdate(1, 2 ** 31 - 1),
    ],
    expect: { kind: 'reset', stream: 1, code: Err.FLOW_CONTROL_ERROR },
    allow: {
      observed: { kind: 'goaway', code: Err.FLOW_CONTROL_ERROR },
      reason:
        'nghttp2 answers a stream window pushed past 2^31-1 with a connection error (GOAWAY FLOW_CONTROL_ERROR) instead of RST_STREAM; RFC 9113 §5.4.1 lets an endpoint treat any stream error as a connection error. Stricter, and safe.',
    },
  },
  // 6.9.2 Initial Flow-Control Window Size
  {
    id: 'http2/6.9.2/1',
    description: 'Changes SETTINGS_INITIAL_WINDOW_SIZE after sending HEADERS frame',
    steps: [
      settings([[Setting.INITIAL_WINDOW_SIZE, 0]]),
      { wait: 'settings' },
      headers(1, GET),
      settings([[Setting.INITIAL_WINDOW_SIZE, 1]]),
      { wait: 'settings' },
    ],
    expect: { kind: 'dataLength', length: 1 },
  },
  {
    id: 'http2/6.9.2/2',
    description: 'Sends a SETTINGS frame for window size to be negative',
    steps: [
      settings([[Setting.INITIAL_WINDOW_SIZE, 3]]),
      { wait: 'settings' },
      headers(1, GET),
      { wait: 'data' },
      settings([[Setting.INITIAL_WINDOW_SIZE, 2]]),
      { wait: 'settings' },
      windowUpdate(1, 2),
    ],
    expect: { kind: 'dataLength', length: 1 },
  },
  {
    id: 'http2/6.9.2/3',
    description:
      'Sends a SETTINGS_INITIAL_WINDOW_SIZE settings with an exceeded maximum window size value',
    steps: [
      Buffer.concat([
        rawHead(6, FrameType.SETTINGS, 0, 0),
        Buffer.from([0, Setting.INITIAL_WINDOW_SIZE]),
        u32(0x80000000),
      ]),
    ],
    expect: connErr(Err.FLOW_CONTROL_ERROR),
  },
  // 6.10 CONTINUATION
  {
    id: 'http2/6.10/1',
    description: 'Sends multiple CONTINUATION frames preceded by a HEADERS frame',
    steps: [headers(1, GET, { endHeaders: false }), cont(1, dummy(), false), cont(1, dummy())],
    expect: { kind: 'frame', type: FrameType.HEADERS },
  },
  {
    id: 'http2/6.10/2',
    description: 'Sends a CONTINUATION frame followed by any frame other than CONTINUATION',
    steps: [
      headers(1, POST, { end: false, endHeaders: false }),
      cont(1, dummy(), false),
      data(1, 'test'),
    ],
    expect: connErr(P),
  },
  {
    id: 'http2/6.10/3',
    description: 'Sends a CONTINUATION frame with 0x0 stream identifier',
    steps: [headers(1, GET, { endHeaders: false }), cont(0, dummy())],
    expect: connErr(P),
  },
  {
    id: 'http2/6.10/4',
    description: 'Sends a CONTINUATION frame preceded by a HEADERS frame with END_HEADERS flag',
    steps: [headers(1, GET), cont(1, dummy())],
    expect: connErr(P),
  },
  {
    id: 'http2/6.10/5',
    description:
      'Sends a CONTINUATION frame preceded by a CONTINUATION frame with END_HEADERS flag',
    steps: [headers(1, GET, { endHeaders: false }), cont(1, dummy()), cont(1, dummy())],
    expect: connErr(P),
  },
  {
    id: 'http2/6.10/6',
    description: 'Sends a CONTINUATION frame preceded by a DATA frame',
    steps: [
      headers(1, POST, { end: false, endHeaders: false }),
      data(1, 'test'),
      cont(1, dummy(), false),
      cont(0, dummy()),
    ],
    expect: connErr(P),
  },
  // 7 Error Codes
  {
    id: 'http2/7/1',
    description: 'Sends a GOAWAY frame with unknown error code',
    steps: [goaway(0, 0xff)],
    expect: { kind: 'close' },
  },
  {
    id: 'http2/7/2',
    description: 'Sends a RST_STREAM frame with unknown error code',
    steps: [headers(1, POST, { end: false }), rst(1, 0xff), ping()],
    expect: { kind: 'frame', type: FrameType.PING },
  },
  // 8.1 HTTP Request/Response Exchange
  {
    id: 'http2/8.1/1',
    description: 'Sends a second HEADERS frame without the END_STREAM flag',
    steps: [
      headers(1, POST, { end: false }),
      data(1, 'test', false),
      headers(1, enc([['x-test', 'ok']]), { end: false }),
    ],
    expect: streamErr(P),
  },
  // 8.1.2 HTTP Header Fields
  {
    id: 'http2/8.1.2/1',
    description: 'Sends a HEADERS frame that contains the header field name in uppercase letters',
    steps: malformed([...common(), ['X-TEST', 'ok']]),
    expect: streamErr(P),
  },
  // 8.1.2.1 Pseudo-Header Fields
  {
    id: 'http2/8.1.2.1/1',
    description: 'Sends a HEADERS frame that contains a unknown pseudo-header field',
    steps: malformed([...common(), [':test', 'ok']]),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.1/2',
    description: 'Sends a HEADERS frame that contains the pseudo-header field defined for response',
    steps: malformed([...common(), [':status', '200']]),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.1/3',
    description: 'Sends a HEADERS frame that contains a pseudo-header field as trailers',
    steps: [
      headers(1, POST, { end: false }),
      data(1, 'test', false),
      headers(1, enc([[':method', 'POST']]), { end: false }),
    ],
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.1/4',
    description:
      'Sends a HEADERS frame that contains a pseudo-header field that appears in a header block after a regular header field',
    steps: malformed([['x-test', 'ok'], ...common()]),
    expect: streamErr(P),
  },
  // 8.1.2.2 Connection-Specific Header Fields
  {
    id: 'http2/8.1.2.2/1',
    description: 'Sends a HEADERS frame that contains the connection-specific header field',
    steps: malformed([...common(), ['connection', 'keep-alive']]),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.2/2',
    description:
      'Sends a HEADERS frame that contains the TE header field with any value other than "trailers"',
    steps: malformed([...common(), ['trailers', 'test'], ['te', 'trailers, deflate']]),
    expect: streamErr(P),
  },
  // 8.1.2.3 Request Pseudo-Header Fields
  {
    id: 'http2/8.1.2.3/1',
    description: 'Sends a HEADERS frame with empty ":path" pseudo-header field',
    steps: malformed(common().map(([n, v]): [string, string] => [n, n === ':path' ? '' : v])),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.3/2',
    description: 'Sends a HEADERS frame that omits ":method" pseudo-header field',
    steps: malformed(common().filter(([n]) => n !== ':method')),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.3/3',
    description: 'Sends a HEADERS frame that omits ":scheme" pseudo-header field',
    steps: malformed(common().filter(([n]) => n !== ':scheme')),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.3/4',
    description: 'Sends a HEADERS frame that omits ":path" pseudo-header field',
    steps: malformed(common().filter(([n]) => n !== ':path')),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.3/5',
    description: 'Sends a HEADERS frame with duplicated ":method" pseudo-header field',
    steps: malformed([...common(), [':method', 'GET']]),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.3/6',
    description: 'Sends a HEADERS frame with duplicated ":scheme" pseudo-header field',
    steps: malformed([...common(), [':scheme', 'https']]),
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.3/7',
    description: 'Sends a HEADERS frame with duplicated ":path" pseudo-header field',
    steps: malformed([...common(), [':path', '/']]),
    expect: streamErr(P),
  },
  // 8.1.2.6 Malformed Requests and Responses
  {
    id: 'http2/8.1.2.6/1',
    description:
      'Sends a HEADERS frame with the "content-length" header field which does not equal the DATA frame payload length',
    steps: [
      headers(1, enc([...common('POST'), ['content-length', '1']]), { end: false }),
      data(1, 'test'),
    ],
    expect: streamErr(P),
  },
  {
    id: 'http2/8.1.2.6/2',
    description:
      'Sends a HEADERS frame with the "content-length" header field which does not equal the sum of the multiple DATA frames payload length',
    steps: [
      headers(1, enc([...common('POST'), ['content-length', '1']]), { end: false }),
      data(1, 'test', false),
      data(1, 'test'),
    ],
    expect: streamErr(P),
  },
  // 8.2 Server Push
  {
    id: 'http2/8.2/1',
    description: 'Sends a PUSH_PROMISE frame',
    steps: [frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.concat([u32(3), GET]))],
    expect: connErr(P),
  },
];

const HPACK: H2specCase[] = [
  {
    id: 'hpack/2.3.3/1',
    description: 'Sends a indexed header field representation with invalid index',
    // Index 70: past the static table (61) and the (empty) dynamic table.
    steps: getWith(hpackInt(70, 7, 0x80)),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'hpack/2.3.3/2',
    description: 'Sends a literal header field representation with invalid index',
    steps: getWith(Buffer.concat([hpackInt(70, 4, 0x00), hpackStr('test')])),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'hpack/4.2/1',
    description: 'Sends a dynamic table size update at the end of header block',
    steps: getWith(hpackInt(1, 5, 0x20)),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'hpack/5.2/1',
    description:
      'Sends a Huffman-encoded string literal representation with padding longer than 7 bits',
    steps: getWith(
      Buffer.concat([
        Buffer.from([0x00]),
        hpackStr('x-test', true),
        hpackStr(huffman('test', { pad: '1'.repeat(12) }), true),
      ]),
    ),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'hpack/5.2/2',
    description: 'Sends a Huffman-encoded string literal representation padded by zero',
    steps: getWith(
      Buffer.concat([
        Buffer.from([0x00]),
        hpackStr('x-test', true),
        hpackStr(huffman('test', { pad: '0000' }), true),
      ]),
    ),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'hpack/5.2/3',
    description: 'Sends a Huffman-encoded string literal representation containing the EOS symbol',
    steps: getWith(
      Buffer.concat([
        Buffer.from([0x00]),
        hpackStr('x-test', true),
        hpackStr(huffman('test', { insert: { at: 2, code: HUFFMAN_EOS } }), true),
      ]),
    ),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'hpack/6.1/1',
    description: 'Sends a indexed header field representation with index 0',
    steps: getWith(Buffer.from([0x80])),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
  {
    id: 'hpack/6.3/1',
    description:
      'Sends a dynamic table size update larger than the value of SETTINGS_HEADER_TABLE_SIZE',
    steps: (peer) =>
      getWith(hpackInt((peer.get(Setting.HEADER_TABLE_SIZE) ?? 4096) + 1, 5, 0x20), true),
    expect: connErr(Err.COMPRESSION_ERROR),
  },
];

/** Every case, in h2spec's order: generic, http2, hpack. */
export const H2SPEC_CASES: readonly H2specCase[] = [...GENERIC, ...HTTP2, ...HPACK];
