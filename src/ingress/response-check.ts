import type { IncomingMessage } from 'node:http';

/**
 * Why an app's response head cannot be passed on, or undefined when it can. Node's strict
 * parser already refuses CL with TE, duplicate or invalid lengths, bare LF and control bytes;
 * these are the cases it reads leniently for a response (RFC 9112 §6.3 item 4 would read to
 * the close), which a proxy must not.
 */
export function checkResponse(res: IncomingMessage): string | undefined {
  const raw = res.rawHeaders;
  let te = 0;
  for (let i = 0; i < raw.length; i += 2)
    if ((raw[i] as string).toLowerCase() === 'transfer-encoding') te++;
  if (te > 1) return 'duplicate Transfer-Encoding';
  const v = res.headers['transfer-encoding'];
  if (v !== undefined && v.trim().toLowerCase() !== 'chunked') return 'unknown Transfer-Encoding';
  return undefined;
}
