import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DASHBOARD_CSP, dashboardAsset } from './index.ts';

test('the page is served with a strict CSP and no inline script or style', () => {
  const a = dashboardAsset('/');
  assert.ok(a);
  assert.equal(a.status, 200);
  assert.equal(a.headers['content-security-policy'], DASHBOARD_CSP);
  assert.match(DASHBOARD_CSP, /default-src 'self'/);
  assert.match(DASHBOARD_CSP, /frame-ancestors 'none'/);
  assert.doesNotMatch(DASHBOARD_CSP, /unsafe/);
  assert.equal(a.headers['x-content-type-options'], 'nosniff');
  assert.equal(a.headers['referrer-policy'], 'no-referrer');
  const html = a.body.toString();
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'a script without src');
  assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'inline style or handler');
  for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
    const asset = dashboardAsset(m[1]);
    assert.equal(asset?.status, 200, `${m[1]} is served`);
  }
});

test('assets have their types, an ETag, and answer 304 to it', () => {
  const js = dashboardAsset('/ui/app.js?v=1');
  assert.equal(js?.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(dashboardAsset('/ui/app.css')?.headers['content-type'], 'text/css; charset=utf-8');
  const etag = js?.headers.etag as string;
  const again = dashboardAsset('/ui/app.js', `"x", ${etag}`);
  assert.equal(again?.status, 304);
  assert.equal(again?.body.length, 0);
});

test('paths that are not the dashboard are left to the admin router', () => {
  assert.equal(dashboardAsset('/api/v1/status'), undefined);
  assert.equal(dashboardAsset('/metrics'), undefined);
  assert.equal(dashboardAsset('/ui/nope.js')?.status, 404);
});
