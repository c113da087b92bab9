// The dashboard: the page at `/` on the admin listener and its assets under `/ui/`, with the
// headers that keep it from being framed or fed foreign script. The admin concern owns the
// listener, the token and the JSON API; this module only answers for the page's own paths.
import { createHash } from 'node:crypto';
import { APP_CSS, APP_JS } from './bundle.gen.ts';
import { FAVICON_SVG, pageHtml } from './page.ts';
import { isDashboardPath } from './paths.ts';

export interface DashboardAsset {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Everything from Pillion itself, nothing inline: the bundle sets styles only through the
 * CSSOM, which `style-src 'self'` allows.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

interface Entry {
  type: string;
  body: Buffer;
  etag: string;
}

const hash = (b: Buffer): string => createHash('sha256').update(b).digest('base64url').slice(0, 16);

function entry(type: string, text: string): Entry {
  const body = Buffer.from(text, 'utf8');
  return { type, body, etag: `"${hash(body)}"` };
}

const js = entry('text/javascript; charset=utf-8', APP_JS);
const css = entry('text/css; charset=utf-8', APP_CSS);
const ASSETS: ReadonlyMap<string, Entry> = new Map([
  ['/', entry('text/html; charset=utf-8', pageHtml(js.etag.slice(1, -1), css.etag.slice(1, -1)))],
  ['/ui/app.js', js],
  ['/ui/app.css', css],
  ['/ui/favicon.svg', entry('image/svg+xml', FAVICON_SVG)],
]);

/**
 * The response for a GET of `path` (a query string is ignored), or undefined when the path is
 * not the dashboard's. `ifNoneMatch` is the request's If-None-Match header: a match gets 304.
 */
export function dashboardAsset(path: string, ifNoneMatch?: string): DashboardAsset | undefined {
  const p = path.split('?', 1)[0];
  const e = ASSETS.get(p);
  if (!e) return isDashboardPath(p) ? notFound() : undefined;
  const headers = {
    ...SECURITY_HEADERS,
    'content-type': e.type,
    'cache-control': 'no-cache',
    etag: e.etag,
  };
  if (ifNoneMatch?.split(/\s*,\s*/).includes(e.etag))
    return { status: 304, headers, body: Buffer.alloc(0) };
  return {
    status: 200,
    headers: { ...headers, 'content-length': String(e.body.length) },
    body: e.body,
  };
}

function notFound(): DashboardAsset {
  const body = Buffer.from('not found\n');
  return {
    status: 404,
    headers: {
      ...SECURITY_HEADERS,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(body.length),
    },
    body,
  };
}
