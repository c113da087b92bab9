// Start-up of the published package (dist/, bundled by `npm pack`) beside the sources in this
// checkout: spawn to the HTTPS port accepting, and to the first 200 (bench/startup.ts), median
// of STARTUP_RUNS (default 7), with a warm and a cold compile cache. Run:
// npm run bench:package-startup
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startupRuns } from './startup.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const runs = Math.max(5, Number(process.env.STARTUP_RUNS ?? 7));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return Math.round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);
};

const dir = mkdtempSync(join(tmpdir(), 'pillion-bench-pack-'));
try {
  const npm = (args: string[], cwd: string): string =>
    execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd,
      encoding: 'utf8',
    });
  const [{ filename }] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], ROOT));
  mkdirSync(join(dir, 'p'));
  writeFileSync(join(dir, 'p', 'package.json'), '{"name":"bench","private":true}\n');
  npm(['install', '--prefer-offline', join(dir, filename)], join(dir, 'p'));
  const variants = {
    sources: join(ROOT, 'bin', 'pillion.js'),
    package: join(dir, 'p', 'node_modules', 'pillion', 'bin', 'pillion.js'),
  };
  for (const cold of [false, true]) {
    for (const [name, bin] of Object.entries(variants)) {
      const r = await startupRuns(runs, cold, bin);
      console.log(
        JSON.stringify({
          bench: 'package-startup',
          variant: name,
          compile_cache: cold ? 'cold' : 'warm',
          runs,
          accept_ms_median: median(r.map((x) => x.acceptMs)),
          first_200_ms_median: median(r.map((x) => x.first200Ms)),
        }),
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
