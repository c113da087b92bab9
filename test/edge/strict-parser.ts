// A strict HTTP/1.1 request parser of the tests' own, independent of Node's llhttp. It reads what
// Pillion sends the app and records every way a message strays from the canonical form.

export interface ParsedRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer;
  chunked: boolean;
  /** Ways this message is not canonical; empty when it is. */
  violations: string[];
}

const TOKEN = /^[!#$%&'*+\-.^`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\/[\x21-\x7e]*|\*) HTTP\/1\.1$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const HEX = /^[0-9a-fA-F]{1,16}$/;

/** Names Pillion must never pass to the app. */
const FORBIDDEN = new Set(['http2-settings', 'trailer', 'te', 'keep-alive', 'proxy-connection']);

type State = 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'dead';

/** Feeds bytes in; complete messages come out of `push`. A fatal framing error kills the parser. */
export class StrictRequestParser {
  #buf = Buffer.alloc(0);
  #state: State = 'head';
  #cur: ParsedRequest | undefined;
  #remaining = 0;
  #chunks: Buffer[] = [];
  /** Framing errors that make the rest of the stream unreadable. */
  fatal: string | undefined;

  /** True when bytes of an unfinished message are buffered. */
  get partial(): boolean {
    return this.#state !== 'head' || this.#buf.length > 0;
  }

  push(data: Buffer): ParsedRequest[] {
    const out: ParsedRequest[] = [];
    this.#buf = Buffer.concat([this.#buf, data]);
    for (;;) {
      const done = this.#step();
      if (done === 'more' || this.#state === 'dead') break;
      if (done) out.push(done);
    }
    return out;
  }

  #die(why: string): 'more' {
    this.fatal = why;
    this.#state = 'dead';
    return 'more';
  }

  #line(): string | undefined {
    const i = this.#buf.indexOf('\n');
    if (i < 0) return undefined;
    if (i === 0 || this.#buf[i - 1] !== 13) {
      this.#die('bare LF');
      return undefined;
    }
    const line = this.#buf.subarray(0, i - 1).toString('latin1');
    this.#buf = this.#buf.subarray(i + 1);
    return line;
  }

  #step(): ParsedRequest | 'more' | null {
    switch (this.#state) {
      case 'head': {
        const end = this.#buf.indexOf('\r\n\r\n');
        if (end < 0) {
          if (this.#buf.includes('\n\n')) return this.#die('bare LF in head');
          return 'more';
        }
        const head = this.#buf.subarray(0, end).toString('latin1');
        this.#buf = this.#buf.subarray(end + 4);
        return this.#head(head);
      }
      case 'body': {
        if (this.#buf.length < this.#remaining) return 'more';
        const req = this.#cur as ParsedRequest;
        req.body = Buffer.from(this.#buf.subarray(0, this.#remaining));
        this.#buf = this.#buf.subarray(this.#remaining);
        this.#state = 'head';
        return req;
      }
      case 'chunk-size': {
        const line = this.#line();
        if (line === undefined) return 'more';
        if (!HEX.test(line)) return this.#die(`bad chunk size line ${JSON.stringify(line)}`);
        this.#remaining = Number.parseInt(line, 16);
        if (this.#remaining === 0) {
          // Last chunk: canonical form has no trailer section.
          if (this.#buf.length < 2) {
            this.#buf = Buffer.concat([Buffer.from('0\r\n'), this.#buf]);
            return 'more';
          }
          if (this.#buf[0] !== 13 || this.#buf[1] !== 10) return this.#die('trailers forwarded');
          this.#buf = this.#buf.subarray(2);
          const req = this.#cur as ParsedRequest;
          req.body = Buffer.concat(this.#chunks);
          this.#chunks = [];
          this.#state = 'head';
          return req;
        }
        this.#state = 'chunk-data';
        return null;
      }
      case 'chunk-data': {
        if (this.#buf.length < this.#remaining) return 'more';
        this.#chunks.push(Buffer.from(this.#buf.subarray(0, this.#remaining)));
        this.#buf = this.#buf.subarray(this.#remaining);
        this.#state = 'chunk-crlf';
        return null;
      }
      case 'chunk-crlf': {
        if (this.#buf.length < 2) return 'more';
        if (this.#buf[0] !== 13 || this.#buf[1] !== 10) return this.#die('chunk not ended by CRLF');
        this.#buf = this.#buf.subarray(2);
        this.#state = 'chunk-size';
        return null;
      }
      default:
        return 'more';
    }
  }

  #head(head: string): ParsedRequest | 'more' | null {
    const lines = head.split('\r\n');
    const rl = REQUEST_LINE.exec(lines[0] ?? '');
    if (!rl) return this.#die(`bad request line ${JSON.stringify(lines[0])}`);
    const req: ParsedRequest = {
      method: rl[1] as string,
      target: rl[2] as string,
      headers: [],
      body: Buffer.alloc(0),
      chunked: false,
      violations: [],
    };
    for (const line of lines.slice(1)) {
      if (line.includes('\n') || line.includes('\r')) req.violations.push('CR or LF in field');
      const colon = line.indexOf(':');
      if (colon <= 0) return this.#die(`field without name ${JSON.stringify(line)}`);
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (!TOKEN.test(name)) req.violations.push(`bad field name ${JSON.stringify(name)}`);
      if (!FIELD_VALUE.test(value)) req.violations.push(`control byte in ${name}`);
      req.headers.push([name.toLowerCase(), value]);
    }
    const all = (n: string): string[] => req.headers.filter(([k]) => k === n).map(([, v]) => v);
    const hosts = all('host');
    if (hosts.length !== 1) req.violations.push(`${hosts.length} Host fields`);
    for (const [n] of req.headers) if (FORBIDDEN.has(n)) req.violations.push(`forwarded ${n}`);
    const upgrade = all('upgrade');
    if (upgrade.some((u) => u.toLowerCase() !== 'websocket'))
      req.violations.push('forwarded Upgrade');
    const cl = all('content-length');
    const te = all('transfer-encoding');
    if (cl.length > 0 && te.length > 0) req.violations.push('both Content-Length and TE');
    if (cl.length > 1) req.violations.push('duplicate Content-Length');
    if (te.length > 1 || (te.length === 1 && te[0] !== 'chunked'))
      req.violations.push(`Transfer-Encoding ${JSON.stringify(te)}`);
    this.#cur = req;
    if (te.length > 0) {
      req.chunked = true;
      this.#state = 'chunk-size';
      return null;
    }
    if (cl.length > 0) {
      if (!/^\d{1,15}$/.test(cl[0] as string)) return this.#die('bad Content-Length');
      this.#remaining = Number(cl[0]);
      this.#state = 'body';
      return null;
    }
    return req;
  }
}
