// Judges one hostile exchange from the spy's byte record: either a 4xx and nothing upstream, or
// exactly one canonical request upstream; a canary that reaches the app arrives as sent.
import type { RawResult } from './raw-client.ts';
import type { SpyApp } from './spy-app.ts';

export const CANARY = 'GET /canary HTTP/1.1\r\nHost: canary.test\r\nX-Canary: 1\r\n\r\n';

export type Verdict = 'rejected' | 'forwarded' | 'held';

export function judge(res: RawResult, spy: SpyApp): { verdict: Verdict; problems: string[] } {
  const problems: string[] = [];
  const reqs = spy.requests;
  const canaries = reqs.filter((r) => r.target === '/canary');
  const payload = reqs.filter((r) => r.target !== '/canary');
  for (const f of spy.fatal) problems.push(`upstream framing: ${f}`);
  for (const r of reqs) {
    for (const v of r.violations) problems.push(`upstream ${r.method} ${r.target}: ${v}`);
    if (r.target.includes('smuggled')) problems.push('a smuggled request reached the app');
    const xff = r.headers.filter(([k]) => k === 'x-forwarded-for').map(([, v]) => v);
    if (xff.length !== 1 || xff[0] !== '127.0.0.1')
      problems.push(`X-Forwarded-For ${JSON.stringify(xff)}`);
  }
  if (payload.length > 1) problems.push(`${payload.length} requests upstream for one payload`);
  for (const c of canaries) {
    const names = c.headers.map(([k]) => k);
    const host = c.headers.find(([k]) => k === 'host')?.[1];
    if (
      c.method !== 'GET' ||
      c.body.length > 0 ||
      host !== 'canary.test' ||
      !names.includes('x-canary')
    )
      problems.push(`canary altered: ${c.method} ${host} ${names.join(',')} body=${c.body.length}`);
  }
  if (canaries.length > 1) problems.push(`${canaries.length} canaries upstream`);
  const first = res.responses[0];
  let verdict: Verdict;
  if (first && first.status >= 400 && first.status < 500) {
    verdict = 'rejected';
    if (payload.length > 0) problems.push(`${first.status} but the request went upstream`);
    if (res.closed) {
      if (spy.byteCount > 0) problems.push(`${first.status} but ${spy.byteCount} bytes upstream`);
    } else if (res.responses.length >= 2 && canaries.length !== 1) {
      // A refusal that keeps the connection (417) must still pass the canary on as sent.
      problems.push(`${first.status}, connection kept, but the canary did not reach the app`);
    }
  } else if (payload.length === 1) {
    verdict = 'forwarded';
    if (first && first.status !== 200) problems.push(`forwarded, answered ${first.status}`);
    // A second 4xx is Pillion refusing what followed the payload (the client's own framing).
    if (res.responses[1]?.status === 200 && canaries.length !== 1)
      problems.push('two responses but the canary did not reach the app');
  } else if (payload.length === 0 && res.responses.length === 0 && !res.closed) {
    // The body is still incomplete (the canary became part of it): nothing whole reached the app.
    verdict = 'held';
  } else {
    verdict = 'rejected';
    problems.push(
      `no 4xx: status ${first?.status ?? 'none'}, closed=${res.closed}, upstream ${payload.length}`,
    );
  }
  return { verdict, problems };
}
