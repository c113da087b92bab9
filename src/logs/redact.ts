import type { IncomingHttpHeaders } from 'node:http';

export const REDACTED = '[REDACTED]';

/** Headers whose values are never logged: credentials and session state. */
export const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

/**
 * `path` with the values of the named query parameters replaced by [REDACTED]. Names are
 * compared after percent-decoding, case-sensitively, as servers read them.
 */
export function redactQuery(path: string, names: ReadonlySet<string>): string {
  const q = path.indexOf('?');
  if (q === -1 || names.size === 0) return path;
  const hash = path.indexOf('#', q);
  const query = hash === -1 ? path.slice(q + 1) : path.slice(q + 1, hash);
  let changed = false;
  const parts = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const raw = eq === -1 ? part : part.slice(0, eq);
    let name = raw;
    try {
      name = decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      // A malformed escape: compare the raw name.
    }
    if (!names.has(name)) return part;
    changed = true;
    return `${raw}=${REDACTED}`;
  });
  if (!changed) return path;
  return `${path.slice(0, q + 1)}${parts.join('&')}${hash === -1 ? '' : path.slice(hash)}`;
}

/** A copy of `headers` fit to log: secret headers' values replaced by [REDACTED]. */
export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    out[k] = SECRET_HEADERS.has(k.toLowerCase()) ? REDACTED : v;
  }
  return out;
}
