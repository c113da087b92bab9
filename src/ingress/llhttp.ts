// llhttp through Node's own binding: the parser node:http runs, strict (no lenient flags), with
// none of node:http's stream and event machinery around it. The API is not documented, so it is
// checked once at start against what the engine relies on.
import { createRequire } from 'node:module';
import { ErrorCode, PillionError } from '../core/errors.ts';

/** kOnHeadersComplete's arguments, in the binding's order. */
export type OnHeadersComplete = (
  versionMajor: number,
  versionMinor: number,
  headers: string[] | undefined,
  method: number | undefined,
  url: string | undefined,
  statusCode: number | undefined,
  statusMessage: string | undefined,
  upgrade: boolean,
  shouldKeepAlive: boolean,
) => number;

/** One llhttp parser; `execute` returns the bytes parsed, or an Error with `code`/`bytesParsed`. */
export interface Parser {
  initialize(kind: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): number | ParseError;
  /** Reads the stream itself: llhttp runs in C++ on each read, then kOnExecute is called. */
  consume(handle: object): void;
  unconsume(): void;
  /** A copy of the read kOnExecute was called for. */
  getCurrentBuffer(): Buffer;
  finish(): ParseError | undefined;
  close(): void;
  [key: number]: unknown;
}
export type ParseError = Error & { code: string; bytesParsed: number; reason?: string };

interface ParserClass {
  new (): Parser;
  REQUEST: number;
  RESPONSE: number;
  kOnMessageBegin: number;
  kOnHeaders: number;
  kOnHeadersComplete: number;
  kOnBody: number;
  kOnMessageComplete: number;
  kOnExecute: number;
}

/**
 * The return value of kOnHeadersComplete that makes llhttp stop right after the head, as for an
 * upgrade with no body: the engine reads bodies itself (Content-Length raw, chunked through a
 * parser of its own), so one exchange at a time is all the parser ever sees.
 */
export const STOP_AFTER_HEAD = 2;
/** The return value that tells a response parser the message has no body (HEAD). */
export const SKIP_BODY = 1;

/**
 * The async resource every parser is initialised with: one object, not one per message (the
 * engine keeps no async context per request).
 */
export const PARSER_RESOURCE: object = {};

function load(): { Parser: ParserClass; methods: string[] } {
  const why = (what: string, cause?: unknown): PillionError =>
    new PillionError(
      ErrorCode.ENGINE_UNSUPPORTED,
      `this Node.js (${process.version}) does not offer the HTTP parser API Pillion's HTTP/1.1 engine needs: ${what}; run Pillion on Node 24`,
      { cause },
    );
  let mod: { HTTPParser?: ParserClass; methods?: string[] };
  try {
    mod = createRequire(import.meta.url)('_http_common');
  } catch (err) {
    throw why('_http_common cannot be loaded', err);
  }
  const P = mod.HTTPParser;
  if (typeof P !== 'function' || !Array.isArray(mod.methods)) throw why('no HTTPParser');
  for (const m of ['initialize', 'execute', 'consume', 'unconsume', 'getCurrentBuffer', 'close']) {
    if (typeof (P.prototype as Record<string, unknown>)[m] !== 'function')
      throw why(`HTTPParser.prototype.${m} is missing`);
  }
  for (const k of [
    'REQUEST',
    'RESPONSE',
    'kOnMessageBegin',
    'kOnHeaders',
    'kOnHeadersComplete',
    'kOnBody',
    'kOnMessageComplete',
    'kOnExecute',
  ] as const) {
    if (typeof P[k] !== 'number') throw why(`HTTPParser.${k} is missing`);
  }
  // A probe: the head stops where the engine expects, with the arguments in the expected order.
  const p = new P();
  let seen = '';
  p[P.kOnHeadersComplete] = ((_a, _b, h, m, u, _s, _sm, _up, ka) => {
    seen = `${mod.methods?.[m ?? -1]} ${u} ${h?.join(',')} ${ka}`;
    return STOP_AFTER_HEAD;
  }) satisfies OnHeadersComplete;
  p[P.kOnBody] = () => {};
  p[P.kOnMessageComplete] = () => {};
  p.initialize(P.REQUEST, {}, 1024, 0);
  const probe = Buffer.from('POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nokGET');
  const n = p.execute(probe);
  p.close();
  if (n !== probe.length - 5 || seen !== 'POST /p Host,h,Content-Length,2 true')
    throw why(`the parser probe gave ${String(n)} / ${JSON.stringify(seen)}`);
  return { Parser: P, methods: mod.methods };
}

let loaded: { Parser: ParserClass; methods: string[] } | undefined;

/** The binding, checked; throws PILLION_ENGINE_UNSUPPORTED when it is not what the engine needs. */
export function llhttp(): { Parser: ParserClass; methods: string[] } {
  loaded ??= load();
  return loaded;
}
