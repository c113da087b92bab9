import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../core/duration.ts';
import type { Logger } from '../core/log.ts';
import { LOG_FLAGS, logsFromFlags } from '../logs/flags.ts';
import { type RunConfig, Sidecar } from '../sidecar.ts';
import { RUN_HELP, usageError } from './usage.ts';

const OPTIONS = {
  listen: { type: 'string' },
  'app-port': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'drain-timeout': { type: 'string' },
  'stop-timeout': { type: 'string' },
  'ready-timeout': { type: 'string' },
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  ...LOG_FLAGS,
} as const;

/** Parses `pillion run` arguments into a RunConfig, or undefined when help was printed. */
export function parseRunArgs(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): RunConfig | undefined {
  const sep = args.indexOf('--');
  const flags = sep === -1 ? args : args.slice(0, sep);
  const command = sep === -1 ? [] : args.slice(sep + 1);
  let values: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
  >['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: flags,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0], 'pillion run');
  }
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return undefined;
  }
  if (positionals.length > 0) {
    throw usageError(
      `unexpected argument '${positionals[0]}': the app's command goes after --, as in pillion run -- ${positionals.join(' ')}`,
      'pillion run',
    );
  }
  const appPort =
    values['app-port'] === undefined ? undefined : parsePort(values['app-port'], '--app-port');
  if (command.length === 0 && appPort === undefined) {
    throw usageError(
      "missing the app's command: pillion run -- CMD [ARGS...], or --app-port N to attach to a running app",
      'pillion run',
    );
  }
  if ((values.cert === undefined) !== (values.key === undefined)) {
    throw usageError(
      `${values.cert === undefined ? '--key' : '--cert'} needs ${values.cert === undefined ? '--cert' : '--key'} too`,
      'pillion run',
    );
  }
  const [listenHost, listenPort] = parseListen(values.listen ?? '0.0.0.0:8443');
  const logs = logsFromFlags(values);
  return {
    command: command.length > 0 ? command : undefined,
    listenHost,
    listenPort,
    appPort,
    certFile: values.cert,
    keyFile: values.key,
    stateDir: values['state-dir'] ?? defaultStateDir(env),
    drainTimeoutMs: duration(values['drain-timeout'], '--drain-timeout', 10_000),
    stopTimeoutMs: duration(values['stop-timeout'], '--stop-timeout', 10_000),
    readyTimeoutMs: duration(values['ready-timeout'], '--ready-timeout', 10_000),
    ...(logs ? { logs } : {}),
  };
}

/** `pillion run`: resolves with the process exit code. */
export async function runCommand(args: string[], log: Logger): Promise<number> {
  const cfg = parseRunArgs(args);
  if (!cfg) return 0;
  return new Sidecar(cfg, log).run();
}

function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.PILLION_STATE_DIR) return env.PILLION_STATE_DIR;
  // The XDG spec says a relative value is to be ignored.
  if (env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME))
    return join(env.XDG_STATE_HOME, 'pillion');
  return join(env.HOME || homedir(), '.local', 'state', 'pillion');
}

function parsePort(text: string, flag: string, allowZero = false): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535 || (n === 0 && !allowZero)) {
    throw usageError(`${flag}: '${text}' is not a TCP port (1-65535)`, 'pillion run');
  }
  return n;
}

function parseListen(text: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  if (!m)
    throw usageError(
      `--listen: '${text}' is not HOST:PORT (e.g. 0.0.0.0:8443 or [::]:8443)`,
      'pillion run',
    );
  return [m[1] ?? (m[2] || '0.0.0.0'), parsePort(m[3], '--listen', true)];
}

function duration(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined)
    throw usageError(
      `${flag}: '${text}' is not a duration up to 24 days (e.g. 10, 10s, 500ms)`,
      'pillion run',
    );
  return ms;
}
