// `pillion run` flags for the app's lifecycle: restart policy, back-off, health checks, drain
// delay, signals and exit-code remap. Parsed into the supervisor's LifecycleOptions.
import { constants } from 'node:os';
import type { FileConfig } from '../config/schema.ts';
import { parseDuration } from '../core/duration.ts';
import { parseProbe } from '../supervisor/health.ts';
import { DEFAULT_LIFECYCLE, type LifecycleOptions } from '../supervisor/options.ts';
import { RESTART_POLICIES, type RestartPolicy } from '../supervisor/restart-policy.ts';
import { usageError } from './usage.ts';

export const LIFECYCLE_OPTIONS = {
  restart: { type: 'string' },
  'max-restarts': { type: 'string' },
  'max-start-failures': { type: 'string' },
  'restart-window': { type: 'string' },
  'backoff-base': { type: 'string' },
  'backoff-max': { type: 'string' },
  'backoff-reset': { type: 'string' },
  'drain-delay': { type: 'string' },
  'stop-signal': { type: 'string' },
  'signal-group': { type: 'boolean' },
  'remap-exit': { type: 'string', multiple: true },
  readiness: { type: 'string' },
  'readiness-interval': { type: 'string' },
  liveness: { type: 'string' },
  'liveness-interval': { type: 'string' },
  'liveness-failures': { type: 'string' },
  'startup-grace': { type: 'string' },
  'probe-timeout': { type: 'string' },
} as const;

type Values = {
  [K in keyof typeof LIFECYCLE_OPTIONS]?: (typeof LIFECYCLE_OPTIONS)[K] extends {
    multiple: true;
  }
    ? string[]
    : (typeof LIFECYCLE_OPTIONS)[K] extends { type: 'boolean' }
      ? boolean
      : string;
};

/** The lifecycle fields of pillion.yaml, written as the flags that set them. */
export function lifecycleFlagsOf(fc: FileConfig | undefined): Values {
  const r = fc?.app?.readiness;
  const readiness =
    r?.http !== undefined
      ? `http:${r.http}`
      : r?.exec !== undefined
        ? `exec:${r.exec.map(shellQuote).join(' ')}`
        : r?.tcp
          ? 'tcp'
          : undefined;
  const v = {
    restart: fc?.app?.restart,
    'max-start-failures':
      fc?.app?.max_start_failures === undefined ? undefined : String(fc.app.max_start_failures),
    'stop-signal': fc?.app?.stop_signal,
    'drain-delay': fc?.drain?.delay === undefined ? undefined : String(fc.drain.delay),
    readiness,
  };
  // Only the fields the file sets, so that a flag left out does not erase them.
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as Values;
}

/** One argument for /bin/sh -c, quoted so the shell passes it through unchanged. */
function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

const fail = (msg: string): never => {
  throw usageError(msg, 'pillion run');
};

/** Builds the lifecycle options from parsed flags; a bad value is a usage error naming the flag. */
export function parseLifecycleFlags(v: Values): LifecycleOptions {
  const d = DEFAULT_LIFECYCLE;
  const restart = (v.restart ?? d.restart) as RestartPolicy;
  if (!RESTART_POLICIES.includes(restart)) {
    fail(`--restart: '${v.restart}' is not one of ${RESTART_POLICIES.join(', ')}`);
  }
  const liveness = v.liveness === undefined ? undefined : probe(v.liveness, '--liveness');
  const life: LifecycleOptions = {
    restart,
    maxRestarts: count(v['max-restarts'], '--max-restarts', true),
    maxStartFailures:
      count(v['max-start-failures'], '--max-start-failures', true) ?? d.maxStartFailures,
    backoff: {
      baseMs: ms(v['backoff-base'], '--backoff-base', d.backoff.baseMs),
      capMs: ms(v['backoff-max'], '--backoff-max', d.backoff.capMs),
      resetAfterMs: ms(v['backoff-reset'], '--backoff-reset', d.backoff.resetAfterMs),
    },
    restartWindowMs: ms(v['restart-window'], '--restart-window', d.restartWindowMs),
    drainDelayMs: ms(v['drain-delay'], '--drain-delay', d.drainDelayMs),
    stopSignal: v['stop-signal'] === undefined ? undefined : signal(v['stop-signal']),
    signalGroup: v['signal-group'] ?? false,
    remapExit: remap(v['remap-exit'] ?? []),
    readiness: v.readiness === undefined ? d.readiness : probe(v.readiness, '--readiness'),
    readinessIntervalMs: ms(v['readiness-interval'], '--readiness-interval', d.readinessIntervalMs),
    startupGraceMs: ms(v['startup-grace'], '--startup-grace', d.startupGraceMs),
    probeTimeoutMs: ms(v['probe-timeout'], '--probe-timeout', d.probeTimeoutMs),
  };
  if (life.backoff.capMs < life.backoff.baseMs)
    fail('--backoff-max must be at least --backoff-base');
  if (liveness) {
    life.liveness = {
      probe: liveness,
      intervalMs: ms(v['liveness-interval'], '--liveness-interval', 10_000) || 1,
      failures: count(v['liveness-failures'], '--liveness-failures', false) ?? 3,
    };
  } else if (v['liveness-interval'] !== undefined || v['liveness-failures'] !== undefined) {
    fail('--liveness-interval and --liveness-failures need --liveness');
  }
  return life;
}

function ms(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = parseDuration(text);
  if (n === undefined)
    fail(`${flag}: '${text}' is not a duration up to 24 days (e.g. 10, 10s, 500ms)`);
  return n as number;
}

function count(text: string | undefined, flag: string, zeroOk: boolean): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || (!zeroOk && Number(text) === 0)) {
    fail(`${flag}: '${text}' is not a whole number${zeroOk ? '' : ' above 0'}`);
  }
  return Number(text);
}

function probe(text: string, flag: string) {
  const p = parseProbe(text);
  if (!p) fail(`${flag}: '${text}' is not tcp, http:/PATH[=STATUS] or exec:COMMAND`);
  return p as NonNullable<typeof p>;
}

function signal(text: string): NodeJS.Signals {
  const name = (
    text.toUpperCase().startsWith('SIG') ? text.toUpperCase() : `SIG${text.toUpperCase()}`
  ) as NodeJS.Signals;
  if (!(name in constants.signals) || name === 'SIGKILL' || name === 'SIGSTOP') {
    fail(`--stop-signal: '${text}' is not a signal that can be caught (e.g. SIGTERM, SIGQUIT)`);
  }
  return name;
}

/** `143` (to 0, as an init's -e does), `143:0` or `1:0,2:0`, repeatable. */
function remap(items: string[]): Map<number, number> {
  const map = new Map<number, number>();
  for (const item of items.flatMap((i) => i.split(','))) {
    const m = /^(\d{1,3})(?::(\d{1,3}))?$/.exec(item.trim());
    if (!m || Number(m[1]) > 255 || Number(m[2] ?? 0) > 255) {
      fail(`--remap-exit: '${item}' is not CODE or CODE:NEW with codes 0-255`);
    }
    const [, from, to] = m as RegExpExecArray;
    map.set(Number(from), Number(to ?? 0));
  }
  return map;
}
