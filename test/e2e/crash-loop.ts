// R9's crash loop, shared by test/e2e/crash-loop-backs-off-without-leaking-fds.test.ts and
// bench/crash-loop.ts: the real CLI (bin/pillion.js) restarting an app that exits at once, with
// a short back-off (2 ms doubling to 16 ms), and the bar its RSS is held to.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Pillion, startPillion, tempDir } from './harness.ts';

const PROBE = fileURLToPath(new URL('../fixtures/heap-probe.mjs', import.meta.url));

export interface CrashLoop {
  p: Pillion;
  pid: number;
  /** While this file exists, the instance that starts next stays up for `holdS`. */
  hold: string;
  /** `app restarted` lines so far. */
  restarts(): number;
  /** Pillion's V8 heap in use after the probe's last full GC, in KiB (0 before the first). */
  heapKib(): number;
}

/**
 * `pillion run` arguments for an app that is never ready (app port 1) and runs `script` under
 * /bin/sh, restarted (`restart`, default on-failure) up to `max` times with `backoff` (base[,
 * cap[, reset]]).
 */
export function crashLoopArgs(opts: {
  max: number;
  backoff: [string] | [string, string] | [string, string, string];
  script: string;
  restart?: 'never' | 'on-failure' | 'always';
}): string[] {
  const [base, cap, reset] = opts.backoff;
  return [
    'run',
    '--listen',
    '127.0.0.1:0',
    '--app-port',
    '1',
    '--restart',
    opts.restart ?? 'on-failure',
    '--max-restarts',
    String(opts.max),
    // It never becomes ready: without this, Pillion would give up after 5 exits.
    '--max-start-failures',
    '0',
    '--backoff-base',
    base,
    ...(cap ? ['--backoff-max', cap] : []),
    ...(reset ? ['--backoff-reset', reset] : []),
    '--',
    '/bin/sh',
    '-c',
    opts.script,
  ];
}

/**
 * `pillion run` restarting an app that exits with status 3 at once, `max` times. With `gc`,
 * test/fixtures/heap-probe.mjs is loaded into Pillion: a full GC every second, so RSS and heap
 * show what stays live rather than what V8 has not collected yet.
 */
export function startCrashLoop(opts: { max: number; holdS: number; gc: boolean }): CrashLoop {
  const dir = tempDir();
  const hold = join(dir, 'hold');
  const heapFile = join(dir, 'heap.json');
  // As the `pillion` command runs (bin/pillion.js's first line), which `node bin/pillion.js`
  // does not: without it V8's young generation doubles (16 -> 32 MiB) during the loop, and RSS
  // with it, as the readiness checks' reads raise the allocation rate.
  const flags = ['--max-semi-space-size=4', ...(opts.gc ? ['--expose-gc', '--import', PROBE] : [])];
  const env = {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${flags.join(' ')}`.trim(),
    ...(opts.gc ? { HEAP_PROBE_FILE: heapFile } : {}),
  };
  const p = startPillion(
    crashLoopArgs({
      max: opts.max,
      backoff: ['2ms', '16ms'],
      script: `if [ -e ${hold} ]; then sleep ${opts.holdS}; fi; exit 3`,
    }),
    { bin: true, env },
  );
  return {
    p,
    pid: p.proc.pid as number,
    hold,
    restarts: () => p.lines.filter((l) => l.msg === 'app restarted').length,
    heapKib: () => {
      try {
        return Math.round(JSON.parse(readFileSync(heapFile, 'utf8')).heapUsed / 1024);
      } catch {
        return 0;
      }
    },
  };
}

/**
 * R9's "RSS stays flat", as a bound on how much Pillion's RSS (the least over a few of the
 * probe's GCs, with one instance held up) may grow from restart 20 to the end: 10% of what it
 * was at restart 20 or 12 MiB, whichever is more. Measured: +5 MiB from 20 to 190 restarts,
 * nearly all before restart 100 (V8's old space and the admin API's recent-lines buffers, which
 * stop at 512 KiB, filling), and +1.4 KiB a restart after that; a leak of 80 KiB a restart
 * would cross it within the 170 restarts between the test's first and last samples.
 */
export function rssGrowthBoundKib(warmKib: number): number {
  return Math.max(warmKib * 0.1, 12 * 1024);
}
