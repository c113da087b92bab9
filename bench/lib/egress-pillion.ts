// `pillion run` (the real CLI) with the fixture app and an egress port serving `services`, for
// the egress benches: the config written beside the PKI, Pillion ready, the egress port's URL.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_CMD, type Pillion, startPillion } from '../../test/e2e/harness.ts';

/** `services`: the YAML lines under `egress.services`, indented for it (4 spaces a name). */
export async function startEgressPillion(
  dir: string,
  services: string[],
  env?: NodeJS.ProcessEnv,
): Promise<{ p: Pillion; egressUrl: string }> {
  const cfg = join(dir, 'pillion.yaml');
  writeFileSync(
    cfg,
    [
      'app:',
      `  command: ${JSON.stringify(APP_CMD)}`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      'egress:',
      '  listen: 127.0.0.1:0',
      '  services:',
      ...services,
      '',
    ].join('\n'),
  );
  const p = startPillion(['run', '--config', cfg], { bin: true, ...(env ? { env } : {}) });
  try {
    await p.ready();
    const line = await p.waitForLog((l) => String(l.msg).startsWith('egress port'));
    return { p, egressUrl: String(line.url) };
  } catch (err) {
    p.kill();
    throw err;
  }
}
