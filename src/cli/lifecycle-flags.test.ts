import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { parseRunArgs } from './run.ts';

const ENV = { HOME: '/home/u' };

function life(flags: string[]) {
  const cfg = parseRunArgs([...flags, '--', 'app'], ENV);
  assert.ok(cfg?.lifecycle);
  return cfg.lifecycle;
}

test('lifecycle flags: every one is read', () => {
  const l = life([
    '--restart=always',
    '--max-restarts=5',
    '--max-start-failures=2',
    '--restart-window=3s',
    '--backoff-base=10ms',
    '--backoff-max=1s',
    '--backoff-reset=2m',
    '--drain-delay=5',
    '--stop-signal=quit',
    '--signal-group',
    '--remap-exit=143',
    '--remap-exit=1:0,2:3',
    '--readiness=http:/healthz=204',
    '--readiness-interval=5s',
    '--liveness=exec:test -f /tmp/ok',
    '--liveness-interval=2s',
    '--liveness-failures=4',
    '--startup-grace=30s',
    '--probe-timeout=500ms',
  ]);
  assert.deepEqual(l, {
    restart: 'always',
    maxRestarts: 5,
    maxStartFailures: 2,
    backoff: { baseMs: 10, capMs: 1000, resetAfterMs: 120_000 },
    restartWindowMs: 3000,
    drainDelayMs: 5000,
    stopSignal: 'SIGQUIT',
    signalGroup: true,
    remapExit: new Map([
      [143, 0],
      [1, 0],
      [2, 3],
    ]),
    readiness: { kind: 'http', path: '/healthz', status: 204 },
    readinessIntervalMs: 5000,
    liveness: {
      probe: { kind: 'exec', command: 'test -f /tmp/ok' },
      intervalMs: 2000,
      failures: 4,
    },
    startupGraceMs: 30_000,
    probeTimeoutMs: 500,
  });
});

test('lifecycle flags: bad values are usage errors naming the flag', () => {
  const table: [string[], RegExp][] = [
    [['--restart=sometimes'], /^--restart: 'sometimes' is not one of never, on-failure, always$/],
    [['--max-restarts=-1'], /^--max-restarts: '-1' is not a whole number$/],
    [['--backoff-base=fast'], /^--backoff-base: 'fast' is not a duration/],
    [['--backoff-base=2s', '--backoff-max=1s'], /^--backoff-max must be at least --backoff-base$/],
    [['--stop-signal=SIGKILL'], /^--stop-signal: 'SIGKILL' is not a signal that can be caught/],
    [['--stop-signal=NOPE'], /^--stop-signal: 'NOPE'/],
    [['--remap-exit=256'], /^--remap-exit: '256' is not CODE or CODE:NEW/],
    [['--readiness=http:healthz'], /^--readiness: 'http:healthz' is not tcp, http/],
    [['--liveness=exec:'], /^--liveness: 'exec:'/],
    [['--liveness-failures=3'], /^--liveness-interval and --liveness-failures need --liveness$/],
    [
      ['--liveness=tcp', '--liveness-failures=0'],
      /^--liveness-failures: '0' is not a whole number above 0$/,
    ],
  ];
  for (const [flags, want] of table) {
    assert.throws(
      () => parseRunArgs([...flags, '--', 'app'], ENV),
      (err: unknown) => {
        assert.ok(err instanceof PillionError);
        assert.equal(err.code, ErrorCode.USAGE);
        assert.match(err.message.split('\n')[0], want, flags.join(' '));
        return true;
      },
    );
  }
});
