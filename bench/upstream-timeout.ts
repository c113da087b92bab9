// R5 figure: how close to `upstream_timeout` a hung app's 504 comes. The real CLI in front of
// the fixture app with `upstream_timeout` set (default 2 s); N requests (default 20, 4 at a
// time) to a path the app never answers in time; prints each 504's delay over the timeout, the
// median and the worst, and whether every one is within ±10%. Run: npm run bench:upstream-timeout
// -- [requests=20] [timeout_s=2]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { APP_CMD, h1Request, startPillion, tempDir } from '../test/e2e/harness.ts';

const n = Number(process.argv[2] ?? 20);
const timeoutS = Number(process.argv[3] ?? 2);
const dir = tempDir();
const cfg = join(dir, 'pillion.yaml');
writeFileSync(
  cfg,
  `app:\n  command: ${JSON.stringify(APP_CMD)}\ningress:\n  listen: 127.0.0.1:0\n  limits:\n    upstream_timeout: ${timeoutS}s\n`,
);
const p = startPillion(['run', '--config', cfg], { bin: true });
process.on('exit', () => p.kill());
const port = await p.port();
await p.ready();
const ratios: number[] = [];
let next = 0;
let not504 = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < n) {
      next++;
      const t0 = performance.now();
      const r = await h1Request(port, `/slow?ms=${timeoutS * 10_000}`);
      const ms = performance.now() - t0;
      if (r.status !== 504) not504++;
      ratios.push(ms / (timeoutS * 1000));
    }
  }),
);
ratios.sort((a, b) => a - b);
const round = (x: number): number => Math.round(x * 1000) / 1000;
console.log(
  JSON.stringify({
    requests: n,
    timeout_s: timeoutS,
    not_504: not504,
    ratio_min: round(ratios[0] ?? 0),
    ratio_median: round(ratios[Math.floor(ratios.length / 2)] ?? 0),
    ratio_max: round(ratios.at(-1) ?? 0),
    all_within_10pct: ratios.every((r) => r >= 1 && r <= 1.1),
  }),
);
p.proc.kill('SIGTERM');
await p.exited;
