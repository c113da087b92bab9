// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
// `pillion run`: it loads with no console error and no CSP violation, its charts move while
// traffic flows, its log filter narrows the tail, its Restart button restarts the app (a new
// pid) through the CSRF check that a bare POST fails, and a canary planted in the config shows
// nowhere in the page or its assets. Leaves artifacts/dashboard.png.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import {
  adminAddress,
  adminHttp,
  adminStatus,
  artifactPath,
  CHROMIUM,
  CHROMIUM_ARGS,
} from './admin-harness.ts';
import { APP_CMD, alive, eventually, h1Request, startPillion, tempDir } from './harness.ts';

test('the dashboard shows live figures, filters the log and restarts the app', async (t) => {
  // scripts/test-deps.sh installs chromium; a missing one is a failure, never a skip.
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`);
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const sick = join(dir, 'sick');
  writeFileSync(sick, ''); // the fixture's /live answers 503 while this exists: some 5xx to chart
  writeFileSync(join(dir, 'secret'), canary);
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    [
      'app:',
      `  command: ${JSON.stringify(APP_CMD)}`,
      `  config: { api_password: ${JSON.stringify(canary)} }`,
      `  secrets: { db: { file: ${JSON.stringify(join(dir, 'secret'))} } }`,
      'ingress: { listen: 127.0.0.1:0 }',
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '-c', cfg, '--admin', '127.0.0.1:0'], {
    stateDir,
    bin: true,
    env: { APP_SICK: sick },
  });
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const admin = await adminAddress(p);
  const token = readFileSync(join(stateDir, 'admin-token'), 'utf8').trim();
  const base = `http://${admin}`;

  // The page and its assets: no token needed, no secret inside, the headers of a strict page.
  const page0 = await adminHttp(admin, '/');
  assert.equal(page0.status, 200);
  const csp = String(page0.headers['content-security-policy']);
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page0.headers['x-content-type-options'], 'nosniff');
  assert.equal(page0.headers['referrer-policy'], 'no-referrer');
  for (const path of [
    '/',
    ...[...page0.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]),
  ]) {
    const r = await adminHttp(admin, path);
    assert.equal(r.status, 200, path);
    assert.equal(r.body.includes(canary), false, `${path} holds the canary`);
    assert.equal(r.body.includes(token), false, `${path} holds the admin token`);
  }

  const userData = mkdtempSync(join(tmpdir(), 'pillion-chromium-'));
  t.after(() => rmSync(userData, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(userData, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 1000 },
  });
  t.after(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Counted from the page itself: a CSP violation event for anything the policy blocked.
  // (Page-side code is given as text: the tests are type-checked without the DOM's types.)
  await page.addInitScript(
    "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))",
  );

  await page.goto(`${base}/#token=${encodeURIComponent(token)}`);
  await page.getByTestId('app-state').filter({ hasText: 'app ready' }).waitFor({ timeout: 20_000 });
  assert.equal(
    await page.evaluate('location.hash'),
    '',
    'the token is taken out of the address bar',
  );
  const firstPid = Number(await page.getByTestId('app-pid').textContent());
  assert.equal(firstPid, (await adminStatus(admin, token)).app.pid);

  // Traffic, bounded in count and time, until the page shows it counted and charted.
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.after(() => agent.destroy());
  const pointsBefore = Number(await page.getByTestId('chart-requests').getAttribute('data-points'));
  let sent = 0;
  let seen = 0;
  let points = pointsBefore;
  const end = Date.now() + 60_000;
  // Until five more samples are charted with the traffic counted: bounded in count and time.
  while (sent < 20_000 && Date.now() < end) {
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h1Request(port, sent % 100 === 0 && i === 0 ? '/live' : '/', { agent }),
      ),
    );
    sent += 10;
    if (sent % 100 === 0) {
      seen = Number(await page.getByTestId('requests-total').textContent());
      points = Number(await page.getByTestId('chart-requests').getAttribute('data-points'));
      if (seen >= 200 && points >= pointsBefore + 5) break;
    }
  }
  assert.ok(seen >= 200, `the page counted ${seen} of ${sent} requests`);
  assert.ok(
    points >= pointsBefore + 5,
    `the requests chart grew from ${pointsBefore} to ${points} points`,
  );
  const headline = await page.locator('[data-testid=chart-requests] .headline').textContent();
  assert.match(String(headline), /[1-9]/, `the request rate shows traffic: ${headline}`);
  assert.ok(Number((await page.getByTestId('count-2xx').textContent())?.replace(/\D/g, '')) > 0);
  for (const id of ['chart-latency', 'chart-cpu', 'chart-memory', 'chart-connections'])
    assert.ok(
      Number(await page.getByTestId(id).getAttribute('data-points')) > 1,
      `${id} has points`,
    );
  assert.equal(await page.locator('canvas').count(), 5, 'five charts drawn');

  // The log tail holds Pillion's lines; the filter narrows it to the words typed.
  const lines = page.getByTestId('log-lines').locator('.line');
  await lines.first().waitFor({ timeout: 10_000 });
  // The /live requests answered 503 are a few among many: the filter finds just them.
  await page.getByTestId('log-filter').fill('/live 503');
  // Polled from here, not by a page function: the page's CSP (rightly) refuses eval.
  await eventually(
    async () => {
      const ls = await lines.allTextContents();
      return ls.length > 0 && ls.every((l) => l.includes('/live') && l.includes('503'));
    },
    10_000,
    'the log tail filtered to /live 503',
  );
  const all = Number((await page.locator('.logs .count').textContent())?.split(' of ')[1]);
  assert.ok((await lines.count()) < all, 'the filter left lines out');
  await page.getByTestId('log-filter').fill('');

  assert.equal(problems.length, 0, `console errors or CSP violations: ${problems.join('\n')}`);

  // An action without the CSRF value fails, from the page's own origin as from outside (the
  // browser logs that one 403 as a failed resource).
  const bare = await page.evaluate(async (tok) => {
    const r = await fetch('/api/v1/restart', {
      method: 'POST',
      headers: { authorization: `Bearer ${tok}` },
    });
    return r.status;
  }, token);
  assert.equal(bare, 403);
  const outside = await adminHttp(admin, '/api/v1/restart', {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(outside.status, 403);
  assert.equal(
    (await adminStatus(admin, token)).app.pid,
    firstPid,
    'a refused restart changed nothing',
  );

  // The Restart button asks once more, then restarts the app: a new pid, ready again.
  await page.getByTestId('restart').click();
  await page.getByTestId('restart-confirm').click();
  await page.getByTestId('toast').filter({ hasText: 'App restarted' }).waitFor({ timeout: 20_000 });
  const pidShown = page.getByTestId('app-pid');
  await eventually(
    async () => {
      const pid = Number(await pidShown.textContent());
      return pid > 0 && pid !== firstPid;
    },
    30_000,
    'the new app pid on the page',
  );
  const after = await adminStatus(admin, token);
  assert.notEqual(after.app.pid, firstPid);
  assert.equal(alive(firstPid), false, 'the first app process is gone');
  await page.getByTestId('app-state').filter({ hasText: 'app ready' }).waitFor({ timeout: 20_000 });

  await page.getByTestId('app-restarts').filter({ hasText: '1' }).waitFor({ timeout: 10_000 });
  await page.screenshot({ path: artifactPath('dashboard.png'), fullPage: true });

  // A new tab has no token: it asks, refuses a wrong one, and takes the right one.
  const tab = await browser.newPage();
  tab.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text()))
      problems.push(`console error (tab): ${m.text()}`);
  });
  await tab.goto(`${base}/`);
  const input = tab.getByTestId('login').locator('input');
  await input.fill('not-the-token');
  await input.press('Enter');
  await tab.getByTestId('login-error').waitFor({ timeout: 10_000 });
  await tab.getByTestId('login').locator('input').fill(token);
  await tab.getByTestId('login').locator('input').press('Enter');
  await tab.getByTestId('app-state').filter({ hasText: 'app ready' }).waitFor({ timeout: 20_000 });
  assert.equal(await tab.evaluate("sessionStorage.getItem('pillion-admin-token')"), token);
  await tab.close();

  // The rendered page never holds the secret or the token either.
  const dom = await page.content();
  assert.equal(dom.includes(canary), false, 'the page shows the canary');
  assert.equal(dom.includes(token), false, 'the page shows the token');
  const refused = /Failed to load resource: .* 403 \(Forbidden\)/;
  assert.equal(problems.filter((m) => refused.test(m)).length, 1, 'the one refused POST');
  assert.deepEqual(
    problems.filter((m) => !refused.test(m)),
    [],
    'no console error or CSP violation after the restart',
  );

  await browser.close();
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  assert.equal(alive(Number(after.app.pid)), false, 'the app ended with Pillion');
});
