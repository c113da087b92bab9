// Message heads as plain strings, built once from the parser's flat [name, value, ...] arrays:
// no header objects on the data path. The rules are those of headers.ts (hop-by-hop fields,
// Connection-listed names, `_` names, fields Pillion sets itself).
import type { ForwardedFor } from '../http/headers.ts';
import { connectionTokens, isHopByHop, isSetByPillion } from '../http/headers.ts';

/** The `X-Forwarded-For` value: the peer alone, or appended to the client's own list. */
function forwardedFor(raw: string[], fwd: ForwardedFor): string {
  if (fwd.forwardedFor !== 'append') return fwd.remote;
  let given = '';
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'x-forwarded-for') continue;
    given = given ? `${given},${raw[i + 1]}` : (raw[i + 1] as string);
  }
  const hops = given
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  hops.push(fwd.remote);
  return hops.join(', ');
}

/** The value of the `Connection` fields of a flat list, joined, or undefined. */
function connectionValue(raw: string[]): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === 10 && n.toLowerCase() === 'connection')
      v = v === undefined ? (raw[i + 1] as string) : `${v},${raw[i + 1]}`;
  }
  return v;
}

/**
 * The request head sent to the app: request line, the client's fields (lower-cased, filtered),
 * the forwarding fields, and `framing` (`content-length: N\r\n`, `transfer-encoding:
 * chunked\r\n` or empty). Written as latin1, the bytes the parser read.
 */
export function upstreamHead(
  method: string,
  path: string,
  raw: string[],
  fwd: ForwardedFor,
  framing: string,
  extra = '',
): string {
  const conn = connectionValue(raw);
  const listed = conn === undefined ? undefined : connectionTokens(conn);
  let out = `${method} ${path} HTTP/1.1\r\nhost: ${fwd.host}\r\n`;
  let cookie: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'cookie') {
      // One Cookie field upstream (RFC 9113 §8.2.3 crumbs, RFC 6265 §5.4 for HTTP/1.1).
      cookie = cookie === undefined ? raw[i + 1] : `${cookie}; ${raw[i + 1]}`;
      continue;
    }
    if (
      name.charCodeAt(0) === 58 /* ':' pseudo-header */ ||
      name === 'host' ||
      name === 'content-length' ||
      isHopByHop(name) ||
      isSetByPillion(name) ||
      name.includes('_') ||
      listed?.has(name) ||
      (fwd.trace !== undefined && (name === 'traceparent' || name === 'tracestate')) ||
      name === fwd.clientCert?.name
    )
      continue;
    out += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (cookie !== undefined) out += `cookie: ${cookie}\r\n`;
  const t = fwd.trace;
  if (t !== undefined)
    out += `traceparent: ${t.header}\r\n${t.tracestate !== undefined ? `tracestate: ${t.tracestate}\r\n` : ''}`;
  const cc = fwd.clientCert;
  if (cc?.value !== undefined) out += `${cc.name}: ${cc.value}\r\n`;
  return `${out}x-forwarded-for: ${forwardedFor(raw, fwd)}\r\nx-forwarded-proto: https\r\nx-forwarded-host: ${fwd.host}\r\nx-request-id: ${fwd.requestId}\r\n${extra}${framing}\r\n`;
}

/**
 * The app's response fields that go on to the client: hop-by-hop, Connection-listed and
 * framing fields removed (each side frames its own message). Flat, names as the app sent them.
 */
export function downstreamFields(raw: string[]): string[] {
  const conn = connectionValue(raw);
  const listed = conn === undefined ? undefined : connectionTokens(conn);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === 'content-length' || isHopByHop(name) || listed?.has(name)) continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}

/** The first value of a field in a flat list (name lower-case), or undefined. */
export function field(raw: string[], lower: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === lower.length && n.toLowerCase() === lower) return raw[i + 1];
  }
  return undefined;
}
