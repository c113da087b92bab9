// Hostile HTTP/1.1 requests: Pillion's own data, modelled on the public request-smuggling and
// desync lists (CL.TE, TE.CL, TE.TE obfuscations, duplicate lengths, bad chunk sizes, obs-fold,
// bare LF, whitespace before the colon, bad methods, versions and targets, absolute-form, field
// bytes, Connection tricks, trailers). Any body that would be a request of its own if misframed
// targets `/smuggled`, which must never reach the app. The families from other public sources
// are in h1-corpus-sources.ts.
import { sourcedPayloads } from './h1-corpus-sources.ts';

/** The public list a payload's family follows. */
export type Source =
  | 'smuggling-lists'
  | 'rfc9112'
  | 'smuggler'
  | 'llhttp'
  | 'http11probe'
  | 'http-garden'
  | 'portswigger';

export interface Payload {
  name: string;
  source: Source;
  /** The exact bytes, written as latin1. */
  bytes: string;
  /** A HEAD request: its response has no body. */
  head?: boolean;
  /**
   * Where Pillion's HTTP/1.1 engine and node:http's server (the same llhttp, strict) part:
   * what node:http did and why the engine refuses instead (docs/edge.md). Checked by the test.
   */
  differs?: string;
}

/**
 * The payloads node:http forwarded and the engine refuses with a 4xx, by name. Every other
 * payload gets the same verdict from both.
 */
export const DIFFERS_FROM_NODE_HTTP: Readonly<Record<string, string>> = {
  'version "HTTP/2.0"':
    'node:http forwarded it as HTTP/1.1; the engine answers 400 to any version but 1.0 and 1.1',
  'version "HTTP/0.9"':
    'node:http forwarded it as HTTP/1.1; the engine answers 400 to any version but 1.0 and 1.1',
  'HTTP/0.9 bare':
    'node:http forwarded `GET /` as HTTP/0.9; the engine answers 400: no head to check, no status line to answer with',
  'Expect obfuscated y 100-continue':
    'node:http matched 100-continue anywhere in the value and forwarded it; the engine meets only `100-continue` itself (RFC 9110 §10.1.1) and answers 417',
};

const CRLF = '\r\n';
const SMUGGLED = `GET /smuggled HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`;

const msg = (lines: string[], body = ''): string => `${lines.join(CRLF)}${CRLF}${CRLF}${body}`;
const post = (fields: string[], body = ''): string =>
  msg(['POST /p HTTP/1.1', 'Host: example.test', ...fields], body);

/** Ways to spell a Transfer-Encoding field, honest or obfuscated (TE.TE). */
const TE_SPELLINGS = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: Chunked',
  'Transfer-Encoding: CHUNKED',
  'Transfer-Encoding:chunked',
  'Transfer-Encoding:  chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: chunked ',
  'Transfer-Encoding: chunked\t',
  'Transfer-Encoding : chunked',
  'Transfer-Encoding\t: chunked',
  ' Transfer-Encoding: chunked',
  '\tTransfer-Encoding: chunked',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding: chunkedx',
  'Transfer-Encoding: chunk',
  'Transfer-Encoding: "chunked"',
  "Transfer-Encoding: 'chunked'",
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity, chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, gzip',
  'Transfer-Encoding: chunked,chunked',
  'Transfer-Encoding: chunked, chunked',
  'Transfer-Encoding: ,chunked',
  'Transfer-Encoding: chunked,',
  'Transfer-Encoding: identity',
  'Transfer-Encoding: gzip',
  'Transfer-Encoding: x',
  'Transfer-Encoding:',
  'Transfer-Encoding: chunked\r\nTransfer-Encoding: x',
  'Transfer-Encoding: x\r\nTransfer-Encoding: chunked',
  'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked',
  'Transfer-Encoding:\r\n chunked',
  'Transfer-Encoding: x\r\n chunked',
  'Transfer_Encoding: chunked',
  'Transfer-Encodings: chunked',
  'Transfer-Encoding\x00: chunked',
  'Transfer-Encoding: chu\x00nked',
  'Transfer-Encoding: chunked\x0b',
  'Transfer-Encoding: \x0cchunked',
  'Transfer-Encoding: chunked\rX: y',
  'Transfer-Encoding\n: chunked',
  'Transfer-Encoding: chunked\n',
  'Transfer-Encoding: \xc2\xa0chunked',
  'TRANSFER-ENCODING: chunked',
  'transfer-encoding: chunked',
  'Transfer-encoding: cHuNkEd',
];

/** Ways to spell a Content-Length of 6 (or not). */
const CL_SPELLINGS = [
  'Content-Length: 6',
  'Content-Length:6',
  'Content-Length: 06',
  'Content-Length: +6',
  'Content-Length: -6',
  'Content-Length: 6 ',
  'Content-Length: 6.0',
  'Content-Length: 0x6',
  'Content-Length: 6e0',
  'Content-Length: 6, 6',
  'Content-Length: 6,6',
  'Content-Length: 6, 7',
  'Content-Length: 6\r\nContent-Length: 6',
  'Content-Length: 6\r\nContent-Length: 7',
  'Content-Length: 6\r\nContent-Length: 0',
  'Content-Length : 6',
  'Content-Length\t: 6',
  ' Content-Length: 6',
  'Content-Length: \x006',
  'Content-Length: 6\x00',
  'Content-Length: 99999999999999999999',
  'Content-Length: 18446744073709551622',
  'Content-Length:',
  'Content-Length: ',
  'Content-Length: six',
  'Content-Length:\r\n 6',
  'Content-Length: 6\x0b',
  'Content-Length: \xd9\xa6',
  'content-length: 6',
];

const CHUNK_BODIES = [
  ['valid', `6${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['hex upper', `A${CRLF}0123456789${CRLF}0${CRLF}${CRLF}`],
  ['leading zeros', `0006${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['0x prefix', `0x6${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['negative', `-6${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['plus', `+6${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['space before size', ` 6${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['space after size', `6 ${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['tab after size', `6\t${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['extension', `6;a=b${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['quoted extension', `6;a="b;c"${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['extension bare', `6;${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['extension NUL', `6;a=\x00${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['extension LF', `6;a\nb${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['huge size', `ffffffffffffffffff${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['64-bit wrap', `10000000000000006${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['empty size', `${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['size not hex', `g${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['bare LF after size', `6\nabcdef${CRLF}0${CRLF}${CRLF}`],
  ['bare LF after data', `6${CRLF}abcdef\n0${CRLF}${CRLF}`],
  ['bare CR after data', `6${CRLF}abcdef\r0${CRLF}${CRLF}`],
  ['data longer than size', `3${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`],
  ['no CRLF after data', `6${CRLF}abcdefX${CRLF}0${CRLF}${CRLF}`],
  ['last chunk bare LF', `6${CRLF}abcdef${CRLF}0\n\n`],
  [
    'smuggle inside chunk',
    `${SMUGGLED.length.toString(16)}${CRLF}${SMUGGLED}${CRLF}0${CRLF}${CRLF}`,
  ],
  ['trailer', `6${CRLF}abcdef${CRLF}0${CRLF}X-Trailer: 1${CRLF}${CRLF}`],
  ['trailer Host', `6${CRLF}abcdef${CRLF}0${CRLF}Host: evil${CRLF}${CRLF}`],
  ['trailer CL', `6${CRLF}abcdef${CRLF}0${CRLF}Content-Length: 50${CRLF}${CRLF}`],
  ['trailer TE', `6${CRLF}abcdef${CRLF}0${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}`],
  ['trailer fold', `6${CRLF}abcdef${CRLF}0${CRLF}X: a${CRLF} b${CRLF}${CRLF}`],
  ['trailer no colon', `6${CRLF}abcdef${CRLF}0${CRLF}garbage${CRLF}${CRLF}`],
  ['trailer NUL', `6${CRLF}abcdef${CRLF}0${CRLF}X: \x00${CRLF}${CRLF}`],
  ['zero-size first', `0${CRLF}${CRLF}`],
  ['many small chunks', `${'1\r\na\r\n'.repeat(20)}0${CRLF}${CRLF}`],
] as const;

function build(): Payload[] {
  const out: Payload[] = [];
  let source: Source = 'smuggling-lists';
  const add = (name: string, bytes: string, head = false): void => {
    out.push(head ? { name, bytes, source, head } : { name, bytes, source });
  };

  // TE alone, every spelling, with a chunked body hiding a request.
  const inChunk = `${SMUGGLED.length.toString(16)}${CRLF}${SMUGGLED}${CRLF}0${CRLF}${CRLF}`;
  for (const te of TE_SPELLINGS) add(`TE ${JSON.stringify(te)}`, post([te], inChunk));
  // CL.TE and TE.CL: both framings present, in both orders (RFC 9112 §6.1: must be refused
  // or TE wins; Pillion refuses).
  for (const te of TE_SPELLINGS) {
    add(`CL.TE ${JSON.stringify(te)}`, post(['Content-Length: 6', te], `0${CRLF}${CRLF}X`));
    add(
      `TE.CL ${JSON.stringify(te)}`,
      post([te, 'Content-Length: 4'], `6${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`),
    );
  }
  // The same spellings on a GET (a body where none is expected) and over HTTP/1.0.
  for (const te of TE_SPELLINGS) {
    add(
      `GET TE ${JSON.stringify(te)}`,
      msg(['GET /g HTTP/1.1', 'Host: example.test', te], inChunk),
    );
    add(
      `HTTP/1.0 TE ${JSON.stringify(te)}`,
      msg(['POST /p HTTP/1.0', 'Host: example.test', te], inChunk),
    );
  }
  // Every CL spelling with a six-byte body that would be followed by a request if misread.
  const n = String(SMUGGLED.length);
  for (const cl of CL_SPELLINGS)
    add(`CL ${JSON.stringify(cl)}`, post([cl.replaceAll('6', n).replaceAll('7', '1')], SMUGGLED));
  for (const cl of CL_SPELLINGS)
    add(
      `GET CL ${JSON.stringify(cl)}`,
      msg(
        ['GET /g HTTP/1.1', 'Host: example.test', cl.replaceAll('6', n).replaceAll('7', '1')],
        SMUGGLED,
      ),
    );
  // Not a length at all: the body is the next request, for Pillion and the app alike.
  add('CL underscore', post(['Content_Length: 6']));
  // CL on methods whose body is unusual.
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'DELETE', 'TRACE'])
    add(
      `${m} with CL`,
      msg([`${m} /m HTTP/1.1`, 'Host: example.test', 'Content-Length: 6'], 'abcdef'),
      m === 'HEAD',
    );
  for (const m of ['GET', 'DELETE', 'OPTIONS'])
    add(
      `${m} with chunked body`,
      msg(
        [`${m} /m HTTP/1.1`, 'Host: example.test', 'Transfer-Encoding: chunked'],
        `6${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`,
      ),
    );
  // Chunked bodies, good and bad.
  for (const [name, body] of CHUNK_BODIES)
    add(`chunk ${name}`, post(['Transfer-Encoding: chunked'], body));

  // obs-fold (RFC 9112 §5.2: refuse or replace with SP).
  source = 'rfc9112';
  for (const [name, lines] of [
    ['fold custom', ['X-A: a', ' b']],
    ['fold tab', ['X-A: a', '\tb']],
    ['fold Host', ['X-A: a', ' Host: evil']],
    ['fold first line', [' X-A: a']],
    ['fold empty', ['X-A:', ' a']],
    ['fold CL', ['Content-Length:', ' 0']],
    ['fold twice', ['X-A: a', ' b', ' c']],
    ['fold only spaces', ['X-A: a', '   ']],
  ] as const)
    add(name, msg(['GET /f HTTP/1.1', 'Host: example.test', ...lines]));

  // Line endings.
  const lf = (s: string): string => s.replaceAll(CRLF, '\n');
  add('all bare LF', lf(msg(['GET /lf HTTP/1.1', 'Host: example.test'])));
  add('bare LF after request line', `GET /lf HTTP/1.1\nHost: example.test${CRLF}${CRLF}`);
  add('bare LF after field', `GET /lf HTTP/1.1${CRLF}Host: example.test\n${CRLF}`);
  add('bare LF end of head', `GET /lf HTTP/1.1${CRLF}Host: example.test${CRLF}\n`);
  add('bare CR in request line', `GET /lf\rHTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('bare CR after field', `GET /lf HTTP/1.1${CRLF}Host: example.test\rX: y${CRLF}${CRLF}`);
  add('bare CR end', `GET /lf HTTP/1.1${CRLF}Host: example.test${CRLF}\r\r\n`);
  add('CR CR LF', `GET /lf HTTP/1.1\r\r\nHost: example.test${CRLF}${CRLF}`);
  add('LF CR', `GET /lf HTTP/1.1\n\rHost: example.test${CRLF}${CRLF}`);
  add('bare LF smuggle CL', `POST /p HTTP/1.1\nHost: x\nContent-Length: 0\n\n${SMUGGLED}`);
  add('bare LF in TE body', post(['Transfer-Encoding: chunked'], `6\nabcdef\n0\n\n`));
  add('leading CRLF', `${CRLF}GET /lead HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add(
    'leading CRLF x3',
    `${CRLF}${CRLF}${CRLF}GET /lead HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`,
  );
  add('leading space', ` GET /lead HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);

  // Whitespace around names and colons.
  for (const f of [
    'Host : example.test',
    'Host\t: example.test',
    'X-A : 1',
    'X-A\t:1',
    ' X-A: 1',
    'X-A:1',
    'X-A:\t1\t',
    'X-A:      1',
    'X A: 1',
    'X-A:: 1',
  ])
    add(
      `field ${JSON.stringify(f)}`,
      msg(['GET /w HTTP/1.1', f.startsWith('Host') ? 'X-H: 1' : 'Host: example.test', f]),
    );

  // Methods.
  for (const m of [
    'get',
    'Get',
    'GET\t',
    'G ET',
    'G@T',
    'G\x00T',
    'FOO',
    'GETX',
    'XGET',
    'G',
    'P0ST',
    `${'G'.repeat(64)}`,
    'PROPFIND',
    'PURGE',
    'PATCH',
    'BREW',
    'PRI',
    '\xc7ET',
  ])
    add(`method ${JSON.stringify(m)}`, `${m} /m HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);

  // Versions.
  for (const v of [
    'HTTP/1.0',
    'HTTP/1.2',
    'HTTP/1.9',
    'HTTP/2.0',
    'HTTP/0.9',
    'HTTP/3.0',
    'HTTP/11',
    'HTTP/1.01',
    'HTTP/1.1 ',
    'HTTP/1.1\t',
    'http/1.1',
    'HTTPS/1.1',
    'HTTP/1',
    'HTTP/1.',
    'HTTP/a.b',
    'HTTP/1.1x',
    '',
    'HTTP\\1.1',
  ])
    add(`version ${JSON.stringify(v)}`, `GET /v ${v}${CRLF}Host: example.test${CRLF}${CRLF}`);
  add(
    'HTTP/1.0 chunked',
    `POST /p HTTP/1.0${CRLF}Host: x${CRLF}Transfer-Encoding: chunked${CRLF}${CRLF}0${CRLF}${CRLF}`,
  );
  add('HTTP/0.9 bare', `GET /${CRLF}${CRLF}`);

  // Request targets: absolute-form and friends (S6), odd bytes.
  for (const t of [
    'http://example.test/a',
    'https://example.test/a',
    'HTTP://example.test/a',
    'http://127.0.0.1:1/admin',
    'http://127.0.0.1:22/',
    'http://[::1]:9/x',
    'http://user:pass@example.test/',
    'ftp://example.test/',
    'file:///etc/passwd',
    'http:/example.test/',
    'http://',
    '//example.test/a',
    'example.test:443',
    '*',
    '/a b',
    '/a\tb',
    '/a\x00b',
    '/a\x7f',
    '/a\x01',
    '/%00',
    '/../admin',
    '/a/../../etc/passwd',
    '/..%2fadmin',
    '/a#frag',
    '/a?b=c d',
    '/\xff',
    '?x',
    '',
    'a',
    `/${'a'.repeat(9000)}`,
  ])
    add(
      `target ${JSON.stringify(t.slice(0, 40))}`,
      `GET ${t} HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`,
    );
  add('OPTIONS *', `OPTIONS * HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('CONNECT authority', `CONNECT 127.0.0.1:22 HTTP/1.1${CRLF}Host: 127.0.0.1:22${CRLF}${CRLF}`);
  add('CONNECT origin', `CONNECT / HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('double space target', `GET  /a HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('double space version', `GET /a  HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('tab separators', `GET\t/a\tHTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);

  // Field names and values.
  for (const f of [
    'X\x00Y: 1',
    'X\x7fY: 1',
    'X(Y): 1',
    'X"Y": 1',
    'X/Y: 1',
    'X{Y}: 1',
    'X\xffY: 1',
    ': empty-name',
    'X-Under_Score: 1',
    'X_Forwarded_For: 6.6.6.6',
    'X-A: \x00',
    'X-A: a\x00b',
    'X-A: a\rb',
    'X-A: \x01',
    'X-A: \x7f',
    'X-A: \x1b[31m',
    'X-A: \xc3\xa9',
    'X-A: \xff\xfe',
    'X-Forwarded-For: 6.6.6.6',
    'X-Forwarded-Host: evil.test',
    'X-Forwarded-Proto: http',
    'X-Request-Id: ../../etc\x7f',
    'X-Request-Id: good-id-1',
    'Proxy-Connection: keep-alive',
    'Keep-Alive: timeout=1',
    'TE: trailers',
    'Trailer: X-T',
    'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
    'Expect: 100-continue',
    'Expect: nonsense',
    `X-Long: ${'v'.repeat(17000)}`,
    ...Array.from({ length: 101 }, (_, i) => `X-M${i}: ${i}`)
      .join(CRLF)
      .split('\0'),
  ])
    add(
      `header ${JSON.stringify(f.slice(0, 40))}`,
      msg(['GET /h HTTP/1.1', 'Host: example.test', f]),
    );

  // Host.
  for (const hs of [
    [],
    ['Host:'],
    ['Host: '],
    ['Host: a b'],
    ['Host: example.test', 'Host: example.test'],
    ['Host: example.test', 'Host: evil.test'],
    ['Host: example.test, evil.test'],
    ['Host: 127.0.0.1:1'],
    ['Host: example.test/path'],
    ['Host: example.test@evil.test'],
    ['Host: [::1]:8080'],
    ['Host: example.test:99999'],
    ['Host: \x00'],
    ['HOST: example.test', 'host: evil.test'],
    ['Host: example.test', ' Host: evil.test'],
  ])
    add(`host ${JSON.stringify(hs)}`, msg(['GET /host HTTP/1.1', ...hs]));
  add('HTTP/1.0 without Host', `GET /h10 HTTP/1.0${CRLF}${CRLF}`);

  // Connection-listed names: protected ones stay, others go.
  for (const c of [
    'Connection: host',
    'Connection: content-length',
    'Connection: transfer-encoding',
    'Connection: x-forwarded-for',
    'Connection: x-request-id',
    'Connection: x-drop',
    'Connection: close, x-drop',
    'Connection: keep-alive, x-drop',
    'Connection: upgrade',
    'Connection: Upgrade, HTTP2-Settings',
  ]) {
    const body = c.includes('content-length') ? 'abcdef' : '';
    const extra = c.includes('content-length') ? ['Content-Length: 6'] : [];
    add(`${c}`, msg(['POST /c HTTP/1.1', 'Host: example.test', c, 'X-Drop: 1', ...extra], body));
  }
  add(
    'Upgrade h2c',
    msg([
      'GET /u HTTP/1.1',
      'Host: example.test',
      'Connection: Upgrade, HTTP2-Settings',
      'Upgrade: h2c',
      'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA',
    ]),
  );
  add('Upgrade h2c no Connection', msg(['GET /u HTTP/1.1', 'Host: example.test', 'Upgrade: h2c']));
  add(
    'Upgrade h2c with body',
    post(['Connection: Upgrade', 'Upgrade: h2c', 'Content-Length: 6'], 'abcdef'),
  );
  add(
    'Upgrade junk',
    msg(['GET /u HTTP/1.1', 'Host: example.test', 'Connection: Upgrade', 'Upgrade: foo/1, bar']),
  );
  add('PRI preface', `PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}`);

  // Sizes (limits: 431, 414).
  add(
    'many headers',
    msg([
      'GET /n HTTP/1.1',
      'Host: example.test',
      ...Array.from({ length: 150 }, (_, i) => `X-N${i}: ${i}`),
    ]),
  );
  add(
    'header bytes over 16 KiB',
    msg([
      'GET /n HTTP/1.1',
      'Host: example.test',
      ...Array.from({ length: 20 }, (_, i) => `X-B${i}: ${'b'.repeat(900)}`),
    ]),
  );
  add('long name', msg(['GET /n HTTP/1.1', 'Host: example.test', `${'N'.repeat(20000)}: 1`]));
  add(
    'chunk extension over 16 KiB',
    post(
      ['Transfer-Encoding: chunked'],
      `6;${'e'.repeat(20000)}${CRLF}abcdef${CRLF}0${CRLF}${CRLF}`,
    ),
  );

  // Pipelined smuggle shapes from the public lists.
  source = 'portswigger';
  add(
    'GET with body as next request',
    msg(['GET /g HTTP/1.1', 'Host: example.test', `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
  );
  add(
    'CL.TE classic',
    post(['Content-Length: 13', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}SMUGGLED`),
  );
  add(
    'TE.CL classic',
    post(
      ['Content-Length: 3', 'Transfer-Encoding: chunked'],
      `8${CRLF}SMUGGLED${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    'TE space CL',
    post(
      ['Transfer-Encoding : chunked', 'Content-Length: 4'],
      `5c${CRLF}GPOST / HTTP/1.1${CRLF}${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add('0.CL', msg(['GET /z HTTP/1.1', 'Host: example.test', 'Content-Length:', ' 23'], SMUGGLED));
  add(
    'expect CL.0',
    msg(
      ['POST /e HTTP/1.1', 'Host: example.test', 'Expect: 100-continue', 'Content-Length: 6'],
      'abcdef',
    ),
  );
  add('H2.TE in h1', post(['transfer-encoding: chunked', 'content-length: 0'], `0${CRLF}${CRLF}`));

  return out;
}

/** The base corpus and the sourced families, each payload's bytes kept once (first wins). */
function corpus(): Payload[] {
  const seen = new Set<string>();
  return [...build(), ...sourcedPayloads()]
    .filter((p) => {
      if (seen.has(p.bytes)) return false;
      seen.add(p.bytes);
      return true;
    })
    .map((p) => {
      const differs = DIFFERS_FROM_NODE_HTTP[p.name];
      return differs ? { ...p, differs } : p;
    });
}

export const H1_CORPUS: readonly Payload[] = corpus();
