// Cases rebuilt from the Autobahn WebSocket suite's categories 1–7 and 9 (framing, pings,
// reserved bits, opcodes, fragmentation, UTF-8, close handling, bounded limits), as exact
// masked client frames, each with the close code a conforming echo server must answer.
import { closePayload, type FrameSpec } from './ws-raw-client.ts';

export interface Case {
  id: string;
  frames: FrameSpec[];
  /** Write size in bytes; 0 writes the whole case at once. */
  chop?: number;
  /** The close code the app must send: 1000 normal, 1002 protocol error, 1007 bad UTF-8. */
  want?: number | 'none';
  /** The client's close in `frames` is refused by the app, so its close is answered. */
  answer?: boolean;
}

const close = (code = 1000, reason: Buffer | string = ''): FrameSpec => ({
  op: 8,
  payload: closePayload(code, reason),
});
const text = (payload: Buffer | string, fin = true): FrameSpec => ({ op: 1, payload, fin });
const bin = (payload: Buffer, fin = true): FrameSpec => ({ op: 2, payload, fin });
const cont = (payload: Buffer | string, fin = true): FrameSpec => ({ op: 0, payload, fin });
const bytes = (n: number, seed = 7): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
};
const ascii = (n: number): string => '*'.repeat(n);
const hex = (h: string): Buffer => Buffer.from(h.replace(/\s/g, ''), 'hex');

export const cases: Case[] = [];
const add = (c: Case): void => {
  cases.push(c);
};

// 1 Framing: text and binary payloads at each length-encoding edge, whole and chopped.
const lengths = [0, 125, 126, 127, 128, 65535, 65536];
lengths.forEach((n, i) => {
  add({ id: `1.1.${i + 1}`, frames: [text(ascii(n)), close()], want: 1000 });
  add({ id: `1.2.${i + 1}`, frames: [bin(bytes(n)), close()], want: 1000 });
});
add({ id: '1.1.8', frames: [text(ascii(65536)), close()], chop: 997, want: 1000 });
add({ id: '1.2.8', frames: [bin(bytes(65536)), close()], chop: 997, want: 1000 });

// 2 Pings and pongs.
add({ id: '2.1', frames: [{ op: 9 }, close()], want: 1000 });
add({ id: '2.2', frames: [{ op: 9, payload: 'Hello, world!' }, close()], want: 1000 });
add({
  id: '2.3',
  frames: [{ op: 9, payload: hex('0000fffe ff fd fc fb 00 ff') }, close()],
  want: 1000,
});
add({ id: '2.4', frames: [{ op: 9, payload: bytes(125) }, close()], want: 1000 });
add({ id: '2.5', frames: [{ op: 9, payload: bytes(126) }, close()], want: 1002, answer: true });
add({ id: '2.6', frames: [{ op: 9, payload: bytes(125) }, close()], chop: 1, want: 1000 });
add({ id: '2.7', frames: [{ op: 10 }, close()], want: 1000 });
add({ id: '2.8', frames: [{ op: 10, payload: 'unsolicited pong payload' }, close()], want: 1000 });
add({
  id: '2.9',
  frames: [{ op: 10, payload: 'unsolicited pong payload' }, { op: 9, payload: 'ping' }, close()],
  want: 1000,
});
const tenPings = Array.from({ length: 10 }, (_, i) => ({ op: 9, payload: `ping ${i}` }));
add({ id: '2.10', frames: [...tenPings, close()], want: 1000 });
add({ id: '2.11', frames: [...tenPings, close()], chop: 1, want: 1000 });

// 3 Reserved bits (no extension negotiated: any RSV bit fails the connection).
add({ id: '3.1', frames: [{ op: 1, rsv: 4, payload: 'Hello' }], want: 1002 });
add({
  id: '3.2',
  frames: [text('Hello'), { op: 1, rsv: 2, payload: 'Hello' }, { op: 9 }],
  want: 1002,
});
add({
  id: '3.3',
  frames: [text('Hello'), { op: 1, rsv: 6, payload: 'Hello' }, { op: 9 }],
  chop: 1,
  want: 1002,
});
add({
  id: '3.4',
  frames: [text('Hello'), { op: 1, rsv: 1, payload: 'Hello' }, { op: 9 }],
  chop: 1,
  want: 1002,
});
add({ id: '3.5', frames: [{ op: 2, rsv: 5, payload: bytes(8) }], want: 1002 });
add({ id: '3.6', frames: [{ op: 9, rsv: 3, payload: 'Hello' }], want: 1002 });
add({
  id: '3.7',
  frames: [{ op: 8, rsv: 7, payload: closePayload(1000) }],
  want: 1002,
  answer: true,
});

// 4 Opcodes: reserved non-control (3–7) and control (11–15) opcodes fail the connection.
[3, 4, 5, 6, 7].forEach((op, i) => {
  add({
    id: `4.1.${i + 1}`,
    frames: [text('Hello'), { op, payload: i % 2 ? 'x' : '' }, { op: 9 }],
    want: 1002,
  });
});
[11, 12, 13, 14, 15].forEach((op, i) => {
  add({
    id: `4.2.${i + 1}`,
    frames: [text('Hello'), { op, payload: i % 2 ? 'x' : '' }, { op: 9 }],
    want: 1002,
  });
});

// 5 Fragmentation.
add({ id: '5.1', frames: [{ op: 9, fin: false, payload: 'frag' }, cont('ment')], want: 1002 });
add({ id: '5.2', frames: [{ op: 10, fin: false, payload: 'frag' }, cont('ment')], want: 1002 });
add({ id: '5.3', frames: [text('frag', false), cont('ment'), close()], want: 1000 });
add({ id: '5.4', frames: [text('frag', false), cont('ment'), close()], chop: 1, want: 1000 });
add({
  id: '5.6',
  frames: [text('frag', false), { op: 9, payload: 'ping' }, cont('ment'), close()],
  want: 1000,
});
add({
  id: '5.7',
  frames: [text('frag', false), { op: 9, payload: 'ping' }, cont('ment'), close()],
  chop: 1,
  want: 1000,
});
add({
  id: '5.8',
  frames: [text('frag', false), { op: 10, payload: 'pong' }, cont('ment'), close()],
  want: 1000,
});
add({ id: '5.9', frames: [cont('fragment'), text('Hello'), close()], want: 1002 });
add({ id: '5.10', frames: [cont('fragment'), text('Hello'), close()], chop: 1, want: 1002 });
add({
  id: '5.13',
  frames: [cont('frag', false), cont('ment'), text('Hello'), close()],
  want: 1002,
});
add({
  id: '5.15',
  frames: [text('frag1', false), cont('frag2'), cont('frag3', false), cont('frag4')],
  want: 1002,
});
add({
  id: '5.16',
  frames: [text('frag1', false), cont('frag2', false), text('frag3')],
  want: 1002,
});
add({
  id: '5.17',
  frames: [
    text('a', false),
    cont('b', false),
    cont('c', false),
    cont('d', false),
    cont('e'),
    close(),
  ],
  want: 1000,
});
add({
  id: '5.19',
  frames: [
    text('frag1', false),
    cont('frag2', false),
    { op: 9, payload: 'pong, 1' },
    cont('frag3', false),
    cont('frag4', false),
    { op: 9, payload: 'pong, 2' },
    cont('frag5'),
    close(),
  ],
  want: 1000,
});
add({
  id: '5.20',
  frames: [bin(bytes(300), false), { op: 9 }, cont(bytes(300)), close()],
  chop: 7,
  want: 1000,
});

// 6 UTF-8: valid text passes whole, chopped and split into one-byte fragments; invalid fails (1007).
const valid = [
  'Hello-µ@ßöäüàá-UTF-8!!',
  'κόσμε',
  '\u0080',
  '\u0800',
  '\u{10000}',
  '\u007f',
  '\u07ff',
  '\uffff',
  '\u{10ffff}',
  '\ud7ff',
  '\ue000',
  '\ufffd',
];
valid.forEach((s, i) => {
  const b = Buffer.from(s);
  add({ id: `6.2.${i + 1}`, frames: [text(b), close()], want: 1000 });
  add({ id: `6.2.${i + 1}b`, frames: [text(b), close()], chop: 1, want: 1000 });
  const frags = [...b].map((x, j) =>
    j === 0 ? text(Buffer.from([x]), b.length === 1) : cont(Buffer.from([x]), j === b.length - 1),
  );
  add({ id: `6.2.${i + 1}f`, frames: [...frags, close()], want: 1000 });
});
add({ id: '6.1.1', frames: [text(''), close()], want: 1000 });
add({ id: '6.1.2', frames: [text('', false), cont('', false), cont(''), close()], want: 1000 });
const invalid = [
  'cebae1bdb9cf83cebcceb5eda080656469746564', // κόσμε then a surrogate
  'c0af', // overlong '/'
  'e080af',
  'f08080af',
  'eda080', // lone high surrogate
  'edbfbf', // lone low surrogate
  'f4908080', // above U+10FFFF
  'fe',
  'ff',
  'fefeffff',
  'c0',
  'e0',
  'cebae1bdb9cf83cebcceb5f4908080656469746564',
  '80',
  'bf',
  'c020',
];
invalid.forEach((h, i) => {
  add({ id: `6.3.${i + 1}`, frames: [text(hex(h)), close()], want: 1007 });
  add({ id: `6.3.${i + 1}b`, frames: [text(hex(h), false), cont('')], chop: 1, want: 1007 });
});
add({
  id: '6.4.1',
  frames: [text(hex('cebae1bdb9cf83cebcceb5'), false), cont(hex('f4908080')), cont('edited')],
  want: 1007,
});

// 7 Close handling.
add({ id: '7.1.1', frames: [text('Hello World!'), close()], want: 1000 });
add({ id: '7.1.2', frames: [close(), close()], want: 1000 });
add({ id: '7.1.3', frames: [close(), { op: 9 }], want: 1000 });
add({ id: '7.1.4', frames: [close(), text('after close')], want: 1000 });
add({ id: '7.1.5', frames: [text('fragment1', false), close(), cont('fragment2')], want: 1000 });
add({ id: '7.1.6', frames: [text(ascii(256 * 1024)), { op: 9 }, close()], want: 1000 });
add({ id: '7.3.1', frames: [{ op: 8 }], want: 'none' });
add({ id: '7.3.2', frames: [{ op: 8, payload: hex('03') }], want: 1002, answer: true });
add({ id: '7.3.3', frames: [close(1000)], want: 1000 });
add({ id: '7.3.4', frames: [close(1000, 'Hello World!')], want: 1000 });
add({ id: '7.3.5', frames: [close(1000, ascii(123))], want: 1000 });
add({
  id: '7.3.6',
  frames: [{ op: 8, payload: closePayload(1000, ascii(124)) }],
  want: 1002,
  answer: true,
});
add({
  id: '7.5.1',
  frames: [close(1000, hex('cebae1bdb9cf83cebcceb5eda080656469746564'))],
  want: 1007,
  answer: true,
});
[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach(
  (code, i) => {
    add({ id: `7.7.${i + 1}`, frames: [close(code)] });
  },
);
[0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999].forEach((code, i) => {
  add({ id: `7.9.${i + 1}`, frames: [close(code)], want: 1002, answer: true });
});

// 9 Limits and performance, bounded for CI (Autobahn goes to 16 MiB; these stop at 1 MiB).
[64 * 1024, 256 * 1024, 1024 * 1024].forEach((n, i) => {
  add({ id: `9.1.${i + 1}`, frames: [text(ascii(n)), close()], want: 1000 });
  add({ id: `9.2.${i + 1}`, frames: [bin(bytes(n, i)), close()], want: 1000 });
});
[64, 256, 1024, 4096, 16384, 65536].forEach((size, i) => {
  // One 256 KiB message in fragments of `size` bytes.
  const n = (256 * 1024) / size;
  const frags = (op: number, piece: (j: number) => Buffer): FrameSpec[] =>
    Array.from({ length: n }, (_, j) => ({
      op: j === 0 ? op : 0,
      fin: j === n - 1,
      payload: piece(j),
    }));
  add({
    id: `9.3.${i + 1}`,
    frames: [...frags(1, () => Buffer.from(ascii(size))), close()],
    want: 1000,
  });
  add({ id: `9.4.${i + 1}`, frames: [...frags(2, (j) => bytes(size, j)), close()], want: 1000 });
});
[64, 512, 4096].forEach((chop, i) => {
  add({ id: `9.5.${i + 1}`, frames: [text(ascii(128 * 1024)), close()], chop, want: 1000 });
  add({ id: `9.6.${i + 1}`, frames: [bin(bytes(128 * 1024)), close()], chop, want: 1000 });
});
[0, 16, 64, 256, 1024].forEach((n, i) => {
  const many = (mk: () => FrameSpec): FrameSpec[] => Array.from({ length: 1000 }, mk);
  add({ id: `9.7.${i + 1}`, frames: [...many(() => text(ascii(n))), close()], want: 1000 });
  add({ id: `9.8.${i + 1}`, frames: [...many(() => bin(bytes(n))), close()], want: 1000 });
});
