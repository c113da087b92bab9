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
 * Query parameter names redacted by default, whatever the config adds: the OAuth 2.0 and
 * OpenID Connect parameters (RFC 6749 §4.1.2 `code`, §5.1 tokens; OIDC `id_token`), signed-URL
 * signatures (`sig`, `signature`, S3's `X-Amz-Signature` and `X-Amz-Credential`), and the
 * names apps use for keys, passwords and sessions. Compared case-insensitively.
 */
export const SECRET_QUERY_NAMES: ReadonlySet<string> = new Set([
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'key',
  'api_key',
  'apikey',
  'api-key',
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'client_secret',
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'auth',
  'authorization',
  'session',
  'sessionid',
  'session_id',
  'jwt',
  'assertion',
  'credential',
  'credentials',
  'private_key',
]);

/** A name that ends like a secret's (`user_token`, `upload-key`, `db_password`) is one too. */
const SECRET_SUFFIX = /[_-](token|key|secret|password|passwd|sig|signature|session)$/;

/** True if a query parameter of this (decoded) name has its value redacted by default. */
export function looksSecret(name: string): boolean {
  const n = name.toLowerCase();
  return SECRET_QUERY_NAMES.has(n) || SECRET_SUFFIX.test(n);
}

/**
 * `path` with the values of secret-looking query parameters (looksSecret) and of the named
 * ones replaced by [REDACTED]. Names are compared after percent-decoding; the configured ones
 * case-sensitively, as servers read them.
 */
export function redactQuery(path: string, names: ReadonlySet<string>): string {
  const q = path.indexOf('?');
  if (q === -1) return path;
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
    if (!names.has(name) && !looksSecret(name)) return part;
    changed = true;
    return `${raw}=${REDACTED}`;
  });
  if (!changed) return path;
  return `${path.slice(0, q + 1)}${parts.join('&')}${hash === -1 ? '' : path.slice(hash)}`;
}

/**
 * `text` cut to its first `max` characters with a marker saying how many were left out, so a
 * path or target an attacker sized is never logged whole (docs/logs.md).
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}...[cut ${text.length - max} chars]`;
}

const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * A copy of `headers` fit to log: secret headers' values replaced by [REDACTED], and secret
 * query values redacted in the URLs they carry (Referer, HTTP/2's `:path`).
 */
export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    const n = k.toLowerCase();
    out[k] = SECRET_HEADERS.has(n)
      ? REDACTED
      : (n === 'referer' || n === ':path') && typeof v === 'string'
        ? redactQuery(v, NO_NAMES)
        : v;
  }
  return out;
}
