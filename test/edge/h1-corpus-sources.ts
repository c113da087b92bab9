// More hostile HTTP/1.1 requests, Pillion's own data, each family following one public source
// of desync cases: the Transfer-Encoding mutations of the smuggler scanner (every control and
// high byte before the name, before the colon, before and after the value; its named gadgets in
// CL.TE, TE.CL and TE.TE framings), the request cases of llhttp's test suite, the smuggling and
// malformed-input suites of Http11Probe, HTTP Garden's parser-differential findings and
// PortSwigger's desync research. As in the base corpus, anything that would be a request of its
// own if misframed targets `/smuggled`, which must never reach the app.
import type { Payload, Source } from './h1-corpus.ts';

const CRLF = '\r\n';
const SMUGGLED = `GET /smuggled HTTP/1.1${CRLF}Host: x${CRLF}${CRLF}`;
const hex = (n: number): string => n.toString(16);
/** A chunked body whose one chunk is a whole request. */
const IN_CHUNK = `${hex(SMUGGLED.length)}${CRLF}${SMUGGLED}${CRLF}0${CRLF}${CRLF}`;
/** A body that ends the chunked message at once, then carries a request. */
const ZERO_THEN = `0${CRLF}${CRLF}${SMUGGLED}`;

const head = (lines: string[], body = ''): string => `${lines.join(CRLF)}${CRLF}${CRLF}${body}`;
const byteName = (c: number): string => c.toString(16).padStart(2, '0');

/** smuggler's gadget template: the gadget, then Host, then a Content-Length over the body. */
function clte(gadget: string, path = '/s'): string {
  return head(
    [`POST ${path} HTTP/1.1`, gadget, 'Host: example.test', `Content-Length: ${ZERO_THEN.length}`],
    ZERO_THEN,
  );
}

/**
 * The Content-Length of the TE.CL framings: the chunk-size line and the first four bytes of the
 * hidden request, so a party reading the length leaves `/smuggled HTTP/1.1…`, which is no
 * request, and one reading the chunks leaves nothing.
 */
const TECL_LENGTH = hex(SMUGGLED.length).length + 2 + 4;

/** TE.CL: a chunk hides a request; a Content-Length stops inside it. */
function tecl(gadget: string, path = '/s'): string {
  return head(
    [`POST ${path} HTTP/1.1`, 'Host: example.test', gadget, `Content-Length: ${TECL_LENGTH}`],
    IN_CHUNK,
  );
}

/** TE.TE: an honest Transfer-Encoding and the gadget together, with a short Content-Length. */
function tete(gadget: string, path = '/s'): string {
  return head(
    [
      `POST ${path} HTTP/1.1`,
      'Host: example.test',
      'Transfer-Encoding: chunked',
      gadget,
      `Content-Length: ${TECL_LENGTH}`,
    ],
    IN_CHUNK,
  );
}

/** smuggler's named Transfer-Encoding gadgets (default and exhaustive configurations). */
const SMUGGLER_GADGETS: [string, string][] = [
  ['nameprefix1', ' Transfer-Encoding: chunked'],
  ['tabprefix1', 'Transfer-Encoding:\tchunked'],
  ['tabprefix2', 'Transfer-Encoding\t:\tchunked'],
  ['spacejoin1', 'Transfer Encoding: chunked'],
  ['underjoin1', 'Transfer_Encoding: chunked'],
  ['smashed', 'Transfer Encoding:chunked'],
  ['space1', 'Transfer-Encoding : chunked'],
  ['valueprefix1', 'Transfer-Encoding:  chunked'],
  ['vertprefix1', 'Transfer-Encoding:\x0bchunked'],
  ['commaCow', 'Transfer-Encoding: chunked, cow'],
  ['cowComma', 'Transfer-Encoding: cow, chunked'],
  ['contentEnc', 'Content-Encoding: chunked'],
  ['linewrapped1', 'Transfer-Encoding:\n chunked'],
  ['quoted', 'Transfer-Encoding: "chunked"'],
  ['aposed', "Transfer-Encoding: 'chunked'"],
  ['lazygrep', 'Transfer-Encoding: chunk'],
  ['sarcasm', 'TrAnSFer-EnCODinG: cHuNkeD'],
  ['yelling', 'TRANSFER-ENCODING: CHUNKED'],
  ['0dsuffix', 'Transfer-Encoding: chunked\r'],
  ['tabsuffix', 'Transfer-Encoding: chunked\t'],
  ['revdualchunk', 'Transfer-Encoding: cow\r\nTransfer-Encoding: chunked'],
  ['dualchunk', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: cow'],
  ['0dspam', 'Transfer\r-Encoding: chunked'],
  ['nested', 'Transfer-Encoding: cow chunked bar'],
  ['spaceFF', 'Transfer-Encoding:\xffchunked'],
  ['accentCH', 'Transfer-Encoding: ch\x96nked'],
  ['accentTE', 'Transf\x82r-Encoding: chunked'],
  ['x-rout', 'X:X\rTransfer-Encoding: chunked'],
  ['x-nout', 'X:X\nTransfer-Encoding: chunked'],
  ['lineprefix-lf', 'Foo: bar\r\n\nTransfer-Encoding: chunked'],
  ['contentEnc-te', 'Content-Encoding: chunked\r\nTransfer-Encoding: chunked'],
];

function smuggler(add: (name: string, bytes: string) => void): void {
  // Exhaustive: one byte (0x01–0x1f, 0x7f–0xff) in each of four places, in smuggler's CL.TE
  // template.
  const bytes = [
    ...Array.from({ length: 0x1f }, (_, i) => i + 1),
    ...Array.from({ length: 0x81 }, (_, i) => i + 0x7f),
  ];
  for (const c of bytes) {
    const b = String.fromCharCode(c);
    add(`midspace-${byteName(c)}`, clte(`Transfer-Encoding:${b}chunked`));
    add(`postspace-${byteName(c)}`, clte(`Transfer-Encoding${b}: chunked`));
    add(`prespace-${byteName(c)}`, clte(`${b}Transfer-Encoding: chunked`));
    add(`endspace-${byteName(c)}`, clte(`Transfer-Encoding: chunked${b}`));
  }
  // The named gadgets, each in the three framings.
  for (const [name, g] of SMUGGLER_GADGETS) {
    add(`${name} CL.TE`, clte(g, '/n'));
    add(`${name} TE.CL`, tecl(g, '/n'));
    add(`${name} TE.TE`, tete(g, '/n'));
  }
}

function llhttp(add: (name: string, bytes: string, head?: boolean) => void): void {
  const post = (fields: string[], body: string, path = '/ll'): string =>
    head([`POST ${path} HTTP/1.1`, 'Host: example.test', ...fields], body);
  const get = (fields: string[], path = '/ll'): string =>
    head([`GET ${path} HTTP/1.1`, 'Host: example.test', ...fields]);
  // invalid.md
  add('ICE protocol', `GET /music ICE/1.0${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('IHTTP protocol', `GET /music IHTTP/1.0${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('RTSP protocol', `PUT /music RTSP/1.0${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('ANNOUNCE over HTTP', `ANNOUNCE /music HTTP/1.0${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('SOURCE over HTTP/1.1', `SOURCE /music HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('headers separated by CR', get(['Foo: 1\rBar: 2']));
  add('headers separated by LF, TE hidden', post(['x:x\nTransfer-Encoding: chunked'], IN_CHUNK));
  add(
    'headers separated by dummy bytes',
    `GET /ll HTTP/1.1${CRLF}Connection: close${CRLF}Host: a${CRLF}\rZGET /smuggled: HTTP/1.1${CRLF}Host: a${CRLF}${CRLF}`,
  );
  add('empty header then CR, TE hidden', post(['x:\rTransfer-Encoding: chunked'], IN_CHUNK));
  add('empty header then LF, TE hidden', post(['x:\nTransfer-Encoding: chunked'], IN_CHUNK));
  add('header token @', get(['Fo@: Failure']));
  add('header token with \\x01 and tab', get(['Foo\x01\ttest: Bar']));
  add('header name empty', get([': Bar']));
  add('method MKCOLA', `MKCOLA /ll HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('header name folded before colon', get(['name', ' : value']));
  add('corrupted Connection', get(['Connection\r\x1b\x35\xd5eep-Alive', 'Accept-Encoding: gzip']));
  add(
    'corrupted header name',
    get(['X-Some-Header\r\x1b\x35\xd5eep-Alive', 'Accept-Encoding: gzip']),
  );
  add(
    'missing CR between headers, CL hidden',
    `GET /ll HTTP/1.1${CRLF}Host: localhost${CRLF}Dummy: x\nContent-Length: ${SMUGGLED.length}${CRLF}${CRLF}${SMUGGLED}`,
  );
  add('version 5.6', `GET /ll HTTP/5.6${CRLF}Host: example.test${CRLF}${CRLF}`);
  add('space after start line', `GET /ll HTTP/1.1${CRLF} Host: foo${CRLF}${CRLF}`);
  add(
    'only LFs, chunked with extensions and trailer',
    'POST /ll HTTP/1.1\nTransfer-Encoding: chunked\nTrailer: Baz\nFoo: abc\nBar: def\n\n1\nA\n1;abc\nB\n1;def=ghi\nC\n1;jkl="mno"\nD\n0\n\nBaz: ghi\n\n',
  );
  add(
    'space before a header hides CL',
    post(['Foo: bar', ` Content-Length: ${SMUGGLED.length}`], SMUGGLED, '/hello'),
  );
  // transfer-encoding.md
  add('empty TE with CL', post(['Transfer-Encoding:', 'Content-Length: 5'], 'hello'));
  add(
    'three empty TE with CL',
    post(
      ['Content-Length: 10', 'Transfer-Encoding:', 'Transfer-Encoding:', 'Transfer-Encoding:'],
      `2${CRLF}AA${CRLF}0${CRLF}`,
    ),
  );
  add(
    'TE pigeons',
    head(['PUT /url HTTP/1.1', 'Host: example.test', 'Transfer-Encoding: pigeons']),
  );
  add('TE identity with CL', post(['Transfer-Encoding: identity', 'Content-Length: 5'], 'World'));
  add('TE chunked, deflate', post(['Transfer-Encoding: chunked, deflate'], 'World'));
  add(
    'TE chunked then TE deflate',
    post(['Transfer-Encoding: chunked', 'Transfer-Encoding: deflate'], 'World'),
  );
  add(
    'TE deflate, chunked',
    post(['Transfer-Encoding: deflate, chunked'], `5${CRLF}World${CRLF}0${CRLF}${CRLF}`),
  );
  add(
    'TE deflate then TE chunked',
    post(
      ['Transfer-Encoding: deflate', 'Transfer-Encoding: chunked'],
      `5${CRLF}World${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    'TE chunkedchunked',
    post(['Transfer-Encoding: chunkedchunked'], `5${CRLF}World${CRLF}0${CRLF}${CRLF}`),
  );
  add(
    'TE obs-fold after chunked',
    post(['Transfer-Encoding: chunked', '  abc'], `5${CRLF}World${CRLF}0${CRLF}${CRLF}`),
  );
  add('missing last chunk', post(['Transfer-Encoding: chunked'], `3${CRLF}foo${CRLF}${CRLF}`));
  add(
    'chunk size then LF and spaces',
    post(['Transfer-Encoding: chunked'], `3 \n  ${CRLF}foo${CRLF}${CRLF}`),
  );
  add(
    'chunk header ended by CR CR',
    head(
      ['GET /ll HTTP/1.1', 'Host: a', 'Connection: close ', 'Transfer-Encoding: chunked '],
      `5\r\r;ABCD${CRLF}34${CRLF}E${CRLF}0${CRLF}${CRLF}${SMUGGLED}`,
    ),
  );
  add(
    'chunk data not ended by CRLF',
    head(
      ['GET /ll HTTP/1.1', 'Host: a', 'Connection: close ', 'Transfer-Encoding: chunked '],
      `5${CRLF}ABCDE0${CRLF}${CRLF}`,
    ),
  );
  add(
    'space after chunk size',
    post(['Transfer-Encoding: chunked'], `a ${CRLF}0123456789${CRLF}0${CRLF}${CRLF}`),
  );
  add(
    'extension without semicolon',
    post(['Transfer-Encoding: chunked'], `2 erfrferferf${CRLF}aa${CRLF}0 rrrr${CRLF}${CRLF}`),
  );
  add(
    'semicolon without extension',
    post(['Transfer-Encoding: chunked'], `2;${CRLF}aa${CRLF}0${CRLF}${CRLF}`),
  );
  add(
    'chunk extensions with values',
    post(
      ['Transfer-Encoding: chunked'],
      `5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue${CRLF}hello${CRLF}6;blahblah;blah${CRLF} world${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    'chunk extensions quoted with escapes',
    post(
      ['Transfer-Encoding: chunked'],
      `5;ilovew3="I \\"love\\"; \\\\extensions\\\\";somuchlove="aretheseparametersfor";blah;foo=bar${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    'chunk extension quote unbalanced',
    post(
      ['Transfer-Encoding: chunked'],
      `5;ilovew3="abc";somuchlove="def; ghi${CRLF}hello${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    'triple-zero last chunk',
    post(
      ['Transfer-Encoding: chunked'],
      `5${CRLF}hello${CRLF}6${CRLF} world${CRLF}000${CRLF}${CRLF}`,
    ),
  );
  add(
    'trailers Vary and Content-Type',
    post(
      ['Transfer-Encoding: chunked'],
      `5${CRLF}hello${CRLF}0${CRLF}Vary: *${CRLF}Content-Type: text/plain${CRLF}${CRLF}`,
    ),
  );
  // content-length.md
  add(
    'CL with zeros',
    head(['PUT /url HTTP/1.1', 'Host: example.test', 'Content-Length: 003'], 'abc'),
  );
  add(
    'CL with zeros and a following header',
    head(['PUT /url HTTP/1.1', 'Host: example.test', 'Content-Length: 003', 'Ohai: world'], 'abc'),
  );
  add(
    'CL overflow',
    head(['PUT /url HTTP/1.1', 'Host: example.test', 'Content-Length: 1000000000000000000000']),
  );
  add(
    'CL 1 then CL 2',
    head(
      ['PUT /url HTTP/1.1', 'Host: example.test', 'Content-Length: 1', 'Content-Length: 2'],
      'ab',
    ),
  );
  add(
    'CL with TE identity',
    head(
      [
        'PUT /url HTTP/1.1',
        'Host: example.test',
        'Content-Length: 1',
        'Transfer-Encoding: identity',
      ],
      'a',
    ),
  );
  add('funky-case CL on GET HTTP/1.0', head(['GET /funky HTTP/1.0', 'conTENT-Length: 5'], 'HELLO'));
  add('CL surrounded by spaces', post(['Content-Length:  5 '], 'hello'));
  add('CL 4 2', post(['Content-Length: 4 2'], 'abcd'));
  add('CL 13 37', post(['Content-Length: 13 37'], 'abcd'));
  add(
    'CL with CR for dash',
    head(['PUT /url HTTP/1.1', 'Host: example.test', 'Content\rLength: 003'], 'abc'),
  );
  // uri.md and connection.md
  add('quotes in URI', get([], '/with_"lovely"_quotes?foo="bar"'));
  add('question mark in query', get([], '/test.cgi?foo=bar?baz'));
  add('absolute URI with query, no path', get([], 'http://hypnotoad.org?hail=all'));
  add('absolute URI with odd userinfo', get([], 'http://a%12:b!&*$@hypnotoad.org:1234/toto'));
  add(
    'UTF-8 in path',
    get([], '/\xce\xb4\xc2\xb6/\xce\xb4t/\xd0\xba\xd0\xbe\xd1\x81\xd0\xbc\xd0\xbe\xd1\x81'),
  );
  add('fragment with quote', get([], '/forums/1/topics/2375?page=1#posts-17408"'));
  add(
    'CONNECT with userinfo',
    `CONNECT foo.bar.com:443 HTTP/1.0${CRLF}Proxy-Authorization: basic aGVsbG86d29ybGQ=${CRLF}${CRLF}`,
  );
  add('Connection keep-alive, upgrade', get(['Connection: keep-alive, upgrade', 'Upgrade: h2c']));
  add('Connection close, token', get(['Connection: close, token']));
  add(
    'Connection with multiple tokens and spaces',
    get(['Connection:   keep-alive ,  x-drop  ,', 'X-Drop: 1']),
  );
  add('Connection: close then data', `${get(['Connection: close'])}${SMUGGLED}`);
  add(
    'HTTP/1.0 keep-alive',
    head(['GET /ll HTTP/1.0', 'Host: example.test', 'Connection: keep-alive']),
  );
}

function http11probe(add: (name: string, bytes: string, head?: boolean) => void): void {
  const H = 'Host: localhost:8080';
  const post = (fields: string[], body: string): string =>
    head(['POST / HTTP/1.1', H, ...fields], body);
  const chunked = (body: string): string => post(['Transfer-Encoding: chunked'], body);
  const hello = `5${CRLF}hello${CRLF}0${CRLF}${CRLF}`;
  // Smuggling suite.
  add('SMUG-ABSOLUTE-URI-HOST-MISMATCH', head(['GET http://other.example/ HTTP/1.1', H]));
  add('SMUG-BARE-CR-HEADER-VALUE', head(['GET / HTTP/1.1', H, 'X-Test: val\rue']));
  add('SMUG-CHUNK-BARE-CR-TERM', chunked(`5\rhello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-BARE-SEMICOLON', chunked(`5;${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-EXT-CR', chunked(`5;a\rX${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-EXT-CTRL', chunked(`5;\x00ext${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-EXT-INVALID-TOKEN', chunked(`5;e[x]t${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-EXT-LF', chunked(`5;a\nX${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-HEX-PREFIX', chunked(`0x5${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-INVALID-SIZE-DESYNC', chunked(`zz${CRLF}hello${CRLF}0${CRLF}${CRLF}${SMUGGLED}`));
  add('SMUG-CHUNK-LEADING-SP', chunked(` 5${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-LF-TERM', chunked(`5\nhello\n0\n\n`));
  add('SMUG-CHUNK-LF-TRAILER', chunked(`5${CRLF}hello${CRLF}0${CRLF}X: y\n${CRLF}`));
  add('SMUG-CHUNK-MISSING-TRAILING-CRLF', chunked(`5${CRLF}hello0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-NEGATIVE', chunked(`-5${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-SIZE-PLUS', chunked(`+5${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-SIZE-TRAILING-OWS', chunked(`5\t ${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-SPILL', chunked(`5${CRLF}helloXX${CRLF}0${CRLF}${CRLF}`));
  add('SMUG-CHUNK-UNDERSCORE', chunked(`1_0${CRLF}${'a'.repeat(16)}${CRLF}0${CRLF}${CRLF}`));
  add(
    'SMUG-CHUNKED-WITH-PARAMS',
    post(['Transfer-Encoding: chunked;ext=val', 'Content-Length: 5'], 'hello'),
  );
  for (const [id, v, body] of [
    ['CL-COMMA-DIFFERENT', '5, 10', 'hello'],
    ['CL-COMMA-SAME', '5, 5', 'hello'],
    ['CL-COMMA-TRIPLE', '5, 5, 5', 'hello'],
    ['CL-DOUBLE-ZERO', '00', ''],
    ['CL-EXTRA-LEADING-SP', '  5', 'hello'],
    ['CL-HEX-PREFIX', '0x5', 'hello'],
    ['CL-INTERNAL-SPACE', '1 0', 'helloworld'],
    ['CL-LEADING-ZEROS-OCTAL', '010', 'helloworld'],
    ['CL-LEADING-ZEROS', '005', 'hello'],
    ['CL-NEGATIVE-ZERO', '-0', ''],
    ['CL-NEGATIVE', '-1', 'h'],
    ['CL-OCTAL', '0o5', 'hello'],
    ['CL-TRAILING-SPACE', '5 ', 'hello'],
    ['CL-UNDERSCORE', '1_0', 'helloworld'],
    ['CL-TAB-BEFORE-VALUE', '\t5', 'hello'],
    ['CL-EMPTY', '', ''],
    ['CL-NON-NUMERIC', 'abc', 'hello'],
    ['CL-PLUS-SIGN', '+5', 'hello'],
    ['CL-OVERFLOW', '99999999999999999999999', 'hello'],
  ] as const)
    add(`SMUG-${id}`, post([`Content-Length: ${v}`], body));
  add(
    'SMUG-CL-TE-BOTH',
    post(['Content-Length: 6', 'Transfer-Encoding: chunked'], `0${CRLF}${CRLF}X`),
  );
  add(
    'SMUG-CLTE-CONN-CLOSE',
    post(
      ['Connection: close', `Content-Length: ${ZERO_THEN.length}`, 'Transfer-Encoding: chunked'],
      ZERO_THEN,
    ),
  );
  add(
    'SMUG-CLTE-DESYNC',
    post([`Content-Length: ${ZERO_THEN.length}`, 'Transfer-Encoding: chunked'], ZERO_THEN),
  );
  const prefix = `0${CRLF}${CRLF}GET /smuggled HTTP/1.1${CRLF}X: y`;
  add(
    'SMUG-CLTE-PIPELINE',
    post([`Content-Length: ${prefix.length}`, 'Transfer-Encoding: chunked'], prefix),
  );
  for (const [id, te, cl] of [
    ['CLTE-SMUGGLED-GET', 'Transfer-Encoding: chunked', `Content-Length: ${ZERO_THEN.length}`],
    ['CLTE-SMUGGLED-GET-CL-NON-NUMERIC', 'Transfer-Encoding: chunked', 'Content-Length: 1a'],
    [
      'CLTE-SMUGGLED-GET-CL-PLUS',
      'Transfer-Encoding: chunked',
      `Content-Length: +${ZERO_THEN.length}`,
    ],
    [
      'CLTE-SMUGGLED-GET-TE-CASE-MISMATCH',
      'Transfer-Encoding: CHUNKED',
      `Content-Length: ${ZERO_THEN.length}`,
    ],
    [
      'CLTE-SMUGGLED-GET-TE-LEADING-COMMA',
      'Transfer-Encoding: , chunked',
      `Content-Length: ${ZERO_THEN.length}`,
    ],
    [
      'CLTE-SMUGGLED-GET-TE-OBS-FOLD',
      'Transfer-Encoding:\r\n chunked',
      `Content-Length: ${ZERO_THEN.length}`,
    ],
    [
      'CLTE-SMUGGLED-GET-TE-TRAILING-SPACE',
      'Transfer-Encoding: chunked ',
      `Content-Length: ${ZERO_THEN.length}`,
    ],
  ] as const)
    add(`SMUG-${id}`, post([cl, te], ZERO_THEN));
  add(
    'SMUG-CLTE-SMUGGLED-HEAD',
    head(
      ['HEAD / HTTP/1.1', H, `Content-Length: ${ZERO_THEN.length}`, 'Transfer-Encoding: chunked'],
      ZERO_THEN,
    ),
    true,
  );
  add('SMUG-DUPLICATE-CL', post(['Content-Length: 5', 'Content-Length: 10'], 'helloworld'));
  add(
    'SMUG-DUPLICATE-CL-SMUGGLED-GET',
    post(['Content-Length: 0', `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
  );
  add(
    'SMUG-EXPECT-100-CL-DESYNC',
    post(['Expect: 100-continue', `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
  );
  add('SMUG-EXPECT-100-CL', post(['Expect: 100-continue', 'Content-Length: 5'], 'hello'));
  add(
    'SMUG-GET-CL-BODY-DESYNC',
    head(['GET / HTTP/1.1', H, `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
  );
  add('SMUG-GET-CL-PREFIX-DESYNC', head(['GET / HTTP/1.1', H, 'Content-Length: 4'], 'GPOS'));
  add('SMUG-HEAD-CL-BODY', head(['HEAD / HTTP/1.1', H, 'Content-Length: 5'], 'hello'), true);
  add('SMUG-HEADER-INJECTION', head(['GET / HTTP/1.1', H, 'X-Test: a%0d%0aX-Injected: b']));
  add('SMUG-MULTIPLE-HOST-COMMA', head(['GET / HTTP/1.1', 'Host: localhost:8080, other.example']));
  add(
    'SMUG-OPTIONS-CL-BODY-DESYNC',
    head(['OPTIONS / HTTP/1.1', H, `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
  );
  add('SMUG-OPTIONS-CL-BODY', head(['OPTIONS / HTTP/1.1', H, 'Content-Length: 5'], 'hello'));
  add(
    'SMUG-OPTIONS-TE-OBS-FOLD',
    head(['OPTIONS / HTTP/1.1', H, 'Transfer-Encoding:', ' chunked'], hello),
  );
  add('SMUG-PIPELINE-SAFE', head(['GET / HTTP/1.1', H]));
  for (const [id, te] of [
    ['TE-CASE-MISMATCH', 'Transfer-Encoding: Chunked'],
    ['TE-DOUBLE-CHUNKED', 'Transfer-Encoding: chunked, chunked'],
    ['TE-EMPTY-VALUE', 'Transfer-Encoding: '],
    ['TE-FORMFEED', 'Transfer-Encoding:\x0cchunked'],
    ['TE-IDENTITY', 'Transfer-Encoding: identity'],
    ['TE-LEADING-COMMA', 'Transfer-Encoding: , chunked'],
    ['TE-NOT-FINAL-CHUNKED', 'Transfer-Encoding: chunked, gzip'],
    ['TE-NULL', 'Transfer-Encoding: chunked\x00'],
    ['TE-OBS-FOLD', 'Transfer-Encoding:\r\n chunked'],
    ['TE-SP-BEFORE-COLON', 'Transfer-Encoding : chunked'],
    ['TE-TAB-BEFORE-VALUE', 'Transfer-Encoding:\tchunked'],
    ['TE-TRAILING-COMMA', 'Transfer-Encoding: chunked,'],
    ['TE-TRAILING-SPACE', 'Transfer-Encoding: chunked '],
    ['TE-VTAB', 'Transfer-Encoding:\x0bchunked'],
    ['TE-XCHUNKED', 'Transfer-Encoding: xchunked'],
    ['TRANSFER-ENCODING-UNDERSCORE', 'Transfer_Encoding: chunked'],
  ] as const) {
    add(`SMUG-${id}`, post([te, 'Content-Length: 5'], hello));
    add(`SMUG-${id} alone`, post([te], IN_CHUNK));
  }
  add(
    'SMUG-TE-DUPLICATE-HEADERS',
    post(['Transfer-Encoding: chunked', 'Transfer-Encoding: identity', 'Content-Length: 5'], hello),
  );
  add(
    'SMUG-TE-DUPLICATE-HEADERS-SMUGGLED-GET',
    post(
      [
        'Transfer-Encoding: identity',
        'Transfer-Encoding: chunked',
        `Content-Length: ${ZERO_THEN.length}`,
      ],
      ZERO_THEN,
    ),
  );
  add(
    'SMUG-TE-HTTP10',
    head(['POST / HTTP/1.0', H, 'Transfer-Encoding: chunked', 'Content-Length: 5'], hello),
  );
  add(
    'SMUG-TECL-CONN-CLOSE',
    post(['Connection: close', 'Transfer-Encoding: chunked', 'Content-Length: 4'], IN_CHUNK),
  );
  add('SMUG-TECL-DESYNC', post(['Transfer-Encoding: chunked', 'Content-Length: 4'], IN_CHUNK));
  add(
    'SMUG-TECL-PIPELINE',
    post(
      ['Transfer-Encoding: chunked', 'Content-Length: 3'],
      `8${CRLF}SMUGGLED${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    'SMUG-TECL-SMUGGLED-GET',
    post(['Content-Length: 4', 'Transfer-Encoding: chunked'], IN_CHUNK),
  );
  for (const [id, t] of [
    ['TRAILER-AUTH', 'Authorization: Bearer admin'],
    ['TRAILER-CL', 'Content-Length: 5'],
    ['TRAILER-CONTENT-TYPE', 'Content-Type: text/evil'],
    ['TRAILER-HOST', 'Host: evil.example'],
    ['TRAILER-TE', 'Transfer-Encoding: chunked'],
  ] as const)
    add(`SMUG-${id}`, chunked(`5${CRLF}hello${CRLF}0${CRLF}${t}${CRLF}${CRLF}`));
  // Malformed input and line endings.
  add('MAL-BINARY-GARBAGE', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xde\xad\xbe\xef\r\n\r\n');
  add('MAL-CHUNK-SIZE-OVERFLOW', chunked(`FFFFFFFFFFFFFFFFF${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('MAL-CONTROL-CHARS-HEADER', head(['GET / HTTP/1.1', H, 'X-Test: \x01\x02\x03']));
  add(
    'MAL-H2-PREFACE',
    `PRI * HTTP/2.0${CRLF}${CRLF}SM${CRLF}${CRLF}\x00\x00\x00\x04\x00\x00\x00\x00\x00`,
  );
  add('MAL-INCOMPLETE-REQUEST', `GET / HTTP/1.1${CRLF}Host: local`);
  add('MAL-NUL-IN-URL', head(['GET /\x00 HTTP/1.1', H]));
  add('MAL-NON-ASCII-HEADER-NAME', head(['GET / HTTP/1.1', H, 'X-T\xe9st: 1']));
  add('MAL-WHITESPACE-ONLY-LINE', `   ${CRLF}${CRLF}`);
  add(
    'MAL-MANY-HEADERS',
    head(['GET / HTTP/1.1', H, ...Array.from({ length: 120 }, (_, i) => `X-H-${i}: v`)]),
  );
  add('MAL-URL-BACKSLASH', head(['GET /a\\b HTTP/1.1', H]));
  add('MAL-URL-PERCENT-NUL', head(['GET /%00 HTTP/1.1', H]));
  add('RFC9112-BARE-LF-HEADER', `GET / HTTP/1.1${CRLF}${H}\nX: y${CRLF}${CRLF}`);
  add('RFC9112-BARE-LF-REQUEST-LINE', `GET / HTTP/1.1\n${H}${CRLF}${CRLF}`);
  add('RFC9112-CR-ONLY-LINE-ENDING', `GET / HTTP/1.1\r${H}\r\r`);
  add('RFC9112-LEADING-CRLF', `${CRLF}${CRLF}GET / HTTP/1.1${CRLF}${H}${CRLF}${CRLF}`);
  add('RFC9112-OBS-FOLD', head(['GET / HTTP/1.1', H, 'X-Folded: a', ' b']));
  add('RFC9112-SP-BEFORE-COLON', head(['GET / HTTP/1.1', H, 'X-Test : v']));
  add('RFC9112-WHITESPACE-BEFORE-HEADERS', head(['GET / HTTP/1.1', ` ${H}`]));
  add('RFC9112-MISSING-HOST', head(['GET / HTTP/1.1']));
  add('RFC9112-DUPLICATE-HOST-SAME', head(['GET / HTTP/1.1', H, H]));
  add('RFC9112-HOST-EMPTY-VALUE', head(['GET / HTTP/1.1', 'Host:']));
  add('RFC9112-HOST-WITH-PATH', head(['GET / HTTP/1.1', 'Host: localhost:8080/path']));
  add('RFC9112-HOST-WITH-USERINFO', head(['GET / HTTP/1.1', 'Host: user@localhost:8080']));
  add('RFC9112-HEADER-NO-COLON', head(['GET / HTTP/1.1', H, 'NoColonHere']));
  add(
    'RFC9112-EXPECT-UNKNOWN',
    head(['POST / HTTP/1.1', H, 'Expect: 200-ok', 'Content-Length: 5'], 'hello'),
  );
  add('COMP-POST-CL-UNDERSEND', post(['Content-Length: 10'], 'hello'));
  add('COMP-POST-CL-ZERO', post(['Content-Length: 0'], ''));
  add('COMP-POST-NO-CL-NO-TE', post([], ''));
  add('COMP-CHUNKED-EMPTY', chunked(`0${CRLF}${CRLF}`));
  add('COMP-CHUNKED-MULTI', chunked(`5${CRLF}hello${CRLF}6${CRLF} world${CRLF}0${CRLF}${CRLF}`));
  add('COMP-CHUNKED-NO-FINAL', chunked(`5${CRLF}hello${CRLF}`));
}

function httpGarden(add: (name: string, bytes: string) => void): void {
  // Parser differentials the HTTP Garden reported between servers and proxies.
  const post = (fields: string[], body: string): string =>
    head(['POST /garden HTTP/1.1', 'Host: example.test', ...fields], body);
  const chunked = (body: string): string => post(['Transfer-Encoding: chunked'], body);
  add('chunk size with NUL after', chunked(`5\x00${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('chunk size with trailing CR', chunked(`5\r${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('chunk sizes with leading zeros', chunked(`00005${CRLF}hello${CRLF}00000${CRLF}${CRLF}`));
  add(
    'chunk size with 17 hex digits of zero',
    chunked(`00000000000000005${CRLF}hello${CRLF}0${CRLF}${CRLF}`),
  );
  add('chunk size uppercase X prefix', chunked(`0X5${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add(
    'chunk size with whitespace then extension',
    chunked(`5 ;a=b${CRLF}hello${CRLF}0${CRLF}${CRLF}`),
  );
  add('chunk extension BWS around =', chunked(`5;a = b${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('chunk extension with DEL', chunked(`5;a\x7f${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('chunk extension quoted with LF', chunked(`5;a="b\nc"${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('chunk extension quoted with CR', chunked(`5;a="b\rc"${CRLF}hello${CRLF}0${CRLF}${CRLF}`));
  add('chunk data then LF only', chunked(`5${CRLF}hello\n0${CRLF}${CRLF}`));
  add('last chunk then bare LF', chunked(`5${CRLF}hello${CRLF}0${CRLF}\n`));
  add('last chunk without final CRLF then request', chunked(`0${CRLF}${SMUGGLED}`));
  add('trailer with obs-fold', chunked(`0${CRLF}X: a${CRLF}\tb${CRLF}${CRLF}`));
  add('trailer bare CR', chunked(`0${CRLF}X: a\rb${CRLF}${CRLF}`));
  add('trailer space before colon', chunked(`0${CRLF}X : a${CRLF}${CRLF}`));
  add('CL plus zero', post(['Content-Length: +0'], ''));
  add(
    'CL same value twice in separate fields',
    post(['Content-Length: 5', 'Content-Length: 5'], 'hello'),
  );
  add('CL with NUL before value', post(['Content-Length:\x005'], 'hello'));
  add('CL with vertical tab after', post(['Content-Length: 5\x0b'], 'hello'));
  add('TE with leading vertical tab', post(['Transfer-Encoding: \x0bchunked'], IN_CHUNK));
  add('TE value with NUL inside', post(['Transfer-Encoding: chun\x00ked'], IN_CHUNK));
  add('header name with trailing tab', post(['Content-Length\t: 5'], 'hello'));
  add('header value with NUL', head(['GET /garden HTTP/1.1', 'Host: example.test', 'X: a\x00b']));
  add(
    'header value with bare CR at end',
    head(['GET /garden HTTP/1.1', 'Host: example.test', 'X: a\r']),
  );
  add(
    'request line with leading space',
    ` GET /garden HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`,
  );
  add(
    'request line with trailing space',
    `GET /garden HTTP/1.1 ${CRLF}Host: example.test${CRLF}${CRLF}`,
  );
  add(
    'request line with vertical tab',
    `GET\x0b/garden HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`,
  );
  add('version with leading zero', `GET /garden HTTP/01.1${CRLF}Host: example.test${CRLF}${CRLF}`);
  add(
    'version with full-width digit',
    `GET /garden HTTP/\xef\xbc\x91.1${CRLF}Host: example.test${CRLF}${CRLF}`,
  );
  add('Host with NUL', head(['GET /garden HTTP/1.1', 'Host: exa\x00mple.test']));
  add('Host with space inside', head(['GET /garden HTTP/1.1', 'Host: exa mple.test']));
  add('Host with trailing dot and port', head(['GET /garden HTTP/1.1', 'Host: example.test.:443']));
  add('absolute-form with empty host', head(['GET http:///garden HTTP/1.1', 'Host: example.test']));
  add(
    'absolute-form with backslash',
    head(['GET http://example.test\\@evil.test/ HTTP/1.1', 'Host: example.test']),
  );
  add(
    'method with trailing NUL',
    `GET\x00 /garden HTTP/1.1${CRLF}Host: example.test${CRLF}${CRLF}`,
  );
}

function portswigger(add: (name: string, bytes: string, head?: boolean) => void): void {
  // Desync shapes from PortSwigger's request-smuggling research.
  const H = 'Host: example.test';
  add(
    'CL.0 on a static path',
    head(['POST /static/x.css HTTP/1.1', H, `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
  );
  add(
    'CL.0 with Connection keep-alive',
    head(
      ['POST /ps HTTP/1.1', H, 'Connection: keep-alive', `Content-Length: ${SMUGGLED.length}`],
      SMUGGLED,
    ),
  );
  add('TE.0 on OPTIONS', head(['OPTIONS /ps HTTP/1.1', H, 'Transfer-Encoding: chunked'], IN_CHUNK));
  add(
    'TE.0 with Connection keep-alive',
    head(
      ['POST /ps HTTP/1.1', H, 'Connection: keep-alive', 'Transfer-Encoding: chunked'],
      `50${CRLF}${SMUGGLED}${'x'.repeat(0x50 - SMUGGLED.length)}${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    '0.CL with Expect',
    head(
      ['GET /ps HTTP/1.1', H, 'Expect: 100-continue', `Content-Length: ${SMUGGLED.length}`],
      SMUGGLED,
    ),
  );
  add(
    'Expect obfuscated y 100-continue',
    head(['POST /ps HTTP/1.1', H, 'Expect: y 100-continue', 'Content-Length: 5'], 'hello'),
  );
  add(
    'Expect obfuscated by fold',
    head(['POST /ps HTTP/1.1', H, 'Expect:', ' 100-continue', 'Content-Length: 5'], 'hello'),
  );
  add(
    'Expect 100-continue with no body sent',
    head(['POST /ps HTTP/1.1', H, 'Expect: 100-continue', 'Content-Length: 0']),
  );
  add(
    'CL.TE GPOST',
    head(
      ['POST /ps HTTP/1.1', H, 'Content-Length: 6', 'Transfer-Encoding: chunked'],
      `0${CRLF}${CRLF}G`,
    ),
  );
  add(
    'TE.CL GPOST',
    head(
      [
        'POST /ps HTTP/1.1',
        H,
        'Content-Type: application/x-www-form-urlencoded',
        'Content-Length: 4',
        'Transfer-Encoding: chunked',
      ],
      `5c${CRLF}GPOST /smuggled HTTP/1.1${CRLF}Content-Type: application/x-www-form-urlencoded${CRLF}Content-Length: 15${CRLF}${CRLF}x=1${CRLF}0${CRLF}${CRLF}`,
    ),
  );
  add(
    'TE.TE with cow',
    head(
      [
        'POST /ps HTTP/1.1',
        H,
        'Content-Length: 4',
        'Transfer-Encoding: chunked',
        'Transfer-encoding: cow',
      ],
      IN_CHUNK,
    ),
  );
  add(
    'CL.TE capture next request',
    head(
      ['POST /ps HTTP/1.1', H, 'Content-Length: 90', 'Transfer-Encoding: chunked'],
      `0${CRLF}${CRLF}POST /smuggled HTTP/1.1${CRLF}Host: x${CRLF}Content-Length: 400${CRLF}${CRLF}search=`,
    ),
  );
  add(
    'HEAD with CL body as next request',
    head(['HEAD /ps HTTP/1.1', H, `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
    true,
  );
  add(
    'Connection: Content-Length hop-by-hop',
    head(
      ['POST /ps HTTP/1.1', H, 'Connection: Content-Length', `Content-Length: ${SMUGGLED.length}`],
      SMUGGLED,
    ),
  );
  add(
    'Connection: Transfer-Encoding hop-by-hop',
    head(
      ['POST /ps HTTP/1.1', H, 'Connection: Transfer-Encoding', 'Transfer-Encoding: chunked'],
      IN_CHUNK,
    ),
  );
  add('Host absolute URL', head(['GET /ps HTTP/1.1', 'Host: http://evil.test/']));
  add(
    'request line URL with Host mismatch and CL',
    head(['POST http://evil.test/ps HTTP/1.1', H, `Content-Length: ${SMUGGLED.length}`], SMUGGLED),
  );
  add(
    'Transfer-Encoding in a second header block',
    head(['POST /ps HTTP/1.1', H, 'Foo: bar\r\n\r\nTransfer-Encoding: chunked'], IN_CHUNK),
  );
  add(
    'chunked GET with smuggled chunk',
    head(['GET /ps HTTP/1.1', H, 'Transfer-Encoding: chunked'], IN_CHUNK),
  );
  add(
    'CL.TE via header with tab name end',
    head(
      ['POST /ps HTTP/1.1', H, 'Content-Length: 6', 'Transfer-Encoding\t: chunked'],
      `0${CRLF}${CRLF}G`,
    ),
  );
}

/** Every sourced payload, each tagged with its family. */
export function sourcedPayloads(): Payload[] {
  const out: Payload[] = [];
  const into =
    (source: Source) =>
    (name: string, bytes: string, isHead = false): void => {
      out.push(isHead ? { name, bytes, source, head: true } : { name, bytes, source });
    };
  smuggler(into('smuggler'));
  llhttp(into('llhttp'));
  http11probe(into('http11probe'));
  httpGarden(into('http-garden'));
  portswigger(into('portswigger'));
  return out;
}
