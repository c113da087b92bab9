// What the restart and kill benches share: the real CLI in front of the fixture app, its
// events file recording every request each app instance received and answered, and the
// figures' percentiles.
import { join } from 'node:path';
import { APP, freePort, type Pillion, startPillion, tempDir } from '../../test/e2e/harness.ts';

export { loadAverage } from './meta.ts';

/** The `p` quantile of sorted values (0 for none). */
export function pct(sorted: number[], p: number): number {
  return sorted.length === 0
    ? 0
    : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** `pillion run` (the bin) in front of the fixture app on a free port, `extra` flags first. */
export async function startAppBehindPillion(
  extra: string[] = [],
): Promise<{ p: Pillion; port: number; events: string }> {
  const events = join(tempDir(), 'events');
  const appPort = await freePort();
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      '--app-port',
      String(appPort),
      ...extra,
      '--',
      process.execPath,
      APP,
      String(appPort),
    ],
    { env: { APP_EVENTS: events, APP_EVENTS_ANSWERS: '1' }, bin: true },
  );
  const port = await p.port();
  await p.ready();
  return { p, port, events };
}
