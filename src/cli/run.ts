import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LoadedConfig, loadConfigFile } from '../config/load.ts';
import { ConfigWatcher } from '../config/watch.ts';
import { parseDuration } from '../core/duration.ts';
import type { Logger } from '../core/log.ts';
import { LOG_FLAGS, logsFromFlags } from '../logs/flags.ts';
import { type RunConfig, Sidecar } from '../sidecar.ts';
import { reexecUnderInit } from '../supervisor/pid1.ts';
import { limitsOf, logFlagsOf } from './file-flags.ts';
import { LIFECYCLE_OPTIONS, lifecycleFlagsOf, parseLifecycleFlags } from './lifecycle-flags.ts';
import { RUN_HELP, usageError } from './usage.ts';

const OPTIONS = {
  listen: { type: 'string' },
  'app-port': { type: 'string' },
  'app-protocol': { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'drain-timeout': { type: 'string' },
  'stop-timeout': { type: 'string' },
  'ready-timeout': { type: 'string' },
  'state-dir': { type: 'string' },
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  ...LIFECYCLE_OPTIONS,
  ...LOG_FLAGS,
} as const;

type RunFlagValues = ReturnType<
  typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>
>['values'];

/** Splits `pillion run` arguments into flag values and the app's command (after `--`). */
export function parseRunFlags(args: string[]): { values: RunFlagValues; command: string[] } {
  const sep = args.indexOf('--');
  const flags = sep === -1 ? args : args.slice(0, sep);
  const command = sep === -1 ? [] : args.slice(sep + 1);
  let values: RunFlagValues;
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
  if (positionals.length > 0) {
    throw usageError(
      `unexpected argument '${positionals[0]}': the app's command goes after --, as in pillion run -- ${positionals.join(' ')}`,
      'pillion run',
    );
  }
  return { values, command };
}

/**
 * Parses `pillion run` arguments into a RunConfig, or undefined when help was printed. With a
 * loaded config file, each flag overrides its field and the file fills in the rest.
 */
export function parseRunArgs(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  file?: LoadedConfig,
): RunConfig | undefined {
  const { values, command: argv } = parseRunFlags(args);
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return undefined;
  }
  const fc = file?.config;
  const command = argv.length > 0 ? argv : (fc?.app?.command ?? []);
  const appPort =
    values['app-port'] === undefined ? fc?.app?.port : parsePort(values['app-port'], '--app-port');
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
  const [listenHost, listenPort] = parseListen(
    values.listen ?? fc?.ingress?.listen ?? '0.0.0.0:8443',
  );
  // The file's log fields read as their flags would; a flag given wins.
  const logs = logsFromFlags({ ...logFlagsOf(fc), ...values });
  const cfg: RunConfig = {
    command: command.length > 0 ? command : undefined,
    listenHost,
    listenPort,
    appPort,
    certFile: values.cert ?? fc?.ingress?.tls?.cert,
    keyFile: values.key ?? fc?.ingress?.tls?.key,
    stateDir: values['state-dir'] ?? fc?.state_dir ?? defaultStateDir(env),
    drainTimeoutMs: duration(
      values['drain-timeout'],
      '--drain-timeout',
      fileMs(fc?.drain?.timeout),
    ),
    stopTimeoutMs: duration(
      values['stop-timeout'],
      '--stop-timeout',
      fileMs(fc?.app?.stop_timeout),
    ),
    readyTimeoutMs: duration(
      values['ready-timeout'],
      '--ready-timeout',
      fileMs(fc?.app?.ready_timeout),
    ),
    // The file's lifecycle fields read as their flags would; a flag given wins.
    lifecycle: parseLifecycleFlags({ ...lifecycleFlagsOf(fc), ...values }),
    ...(logs ? { logs } : {}),
  };
  const protocol = appProtocol(values['app-protocol'] ?? fc?.app?.protocol);
  if (protocol) cfg.appProtocol = protocol;
  if (file) {
    cfg.configFile = file.file;
    cfg.appConfig = fc?.app?.config;
    cfg.secrets = fc?.app?.secrets ?? {};
    cfg.apiListen = fc?.app?.api?.listen;
    cfg.restartOnChange = fc?.app?.restart_on_change;
    const limits = limitsOf(fc);
    if (limits) cfg.limits = limits;
  }
  return cfg;
}

/** Where the config file is: --config, else $PILLION_CONFIG, else ./pillion.yaml if it exists. */
export function findConfigFile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  cwd: string,
): string | undefined {
  if (flag !== undefined) return flag;
  if (env.PILLION_CONFIG) return env.PILLION_CONFIG;
  const local = join(cwd, 'pillion.yaml');
  return existsSync(local) ? 'pillion.yaml' : undefined;
}

/** Reads the config `pillion run` would use (or undefined without one) and merges the flags. */
export function resolveRunConfig(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): RunConfig | undefined {
  const { values } = parseRunFlags(args);
  if (values.help) return parseRunArgs(args, env);
  const path = findConfigFile(values.config, env, cwd);
  const file = path === undefined ? undefined : loadConfigFile(path, env, cwd);
  return parseRunArgs(args, env, file);
}

/** A duration from the file (seconds as a number, or text with a unit) in ms; 10 s if absent. */
function fileMs(v: string | number | undefined): number {
  if (v === undefined) return 10_000;
  return parseDuration(String(v)) ?? 10_000;
}

/** `pillion run`: resolves with the process exit code. */
export async function runCommand(args: string[], log: Logger): Promise<number> {
  const cfg = resolveRunConfig(args);
  if (!cfg) return 0;
  reexecUnderInit(log);
  const sidecar = new Sidecar(cfg, log);
  const watcher =
    cfg.configFile === undefined ? undefined : watchConfig(cfg.configFile, args, sidecar, log);
  try {
    return await sidecar.run();
  } finally {
    watcher?.close();
  }
}

/** The pillion.yaml field of each RunConfig field, for reload messages. */
const FIELD_OF: Record<string, string> = {
  command: 'app.command',
  appPort: 'app.port',
  appProtocol: 'app.protocol',
  listenHost: 'ingress.listen',
  listenPort: 'ingress.listen',
  certFile: 'ingress.tls.cert',
  keyFile: 'ingress.tls.key',
  stateDir: 'state_dir',
  stopTimeoutMs: 'app.stop_timeout',
  readyTimeoutMs: 'app.ready_timeout',
  apiListen: 'app.api.listen',
  lifecycle: 'app (restart, stop_signal, readiness) or drain.delay',
  logs: 'logs',
  limits: 'ingress limits',
};

/** Reloads the config file on change; flags keep overriding the file. */
function watchConfig(file: string, args: string[], sidecar: Sidecar, log: Logger): ConfigWatcher {
  const clog = log.child('config');
  const watcher = new ConfigWatcher({
    file,
    apply: async (loaded) => {
      const next = parseRunArgs(args, process.env, loaded);
      if (!next) return;
      const { appRestarted, needRestart } = await sidecar.reload(next);
      const names = (keys: string[]) => [...new Set(keys.map((k) => FIELD_OF[k] ?? k))];
      if (appRestarted.length > 0)
        clog.info('app restarted to apply changed config fields', { fields: names(appRestarted) });
      if (needRestart.length > 0)
        clog.warn('config fields changed that apply only at the next start; not applied', {
          fields: names(needRestart),
        });
    },
    applied: (counts) =>
      clog.info('config reloaded', { file, reloads: counts.applied, rejected: counts.rejected }),
    rejected: (err, counts) => {
      const e = err as Error & { code?: string };
      // The message names file, line and field, never a value.
      clog.error('config rejected; the last good config stays in force', {
        file,
        code: e.code ?? 'PILLION_INTERNAL',
        errors: e.message.split('\n'),
        reloads: counts.applied,
        rejected: counts.rejected,
      });
    },
  });
  watcher.start();
  return watcher;
}

function defaultStateDir(env: NodeJS.ProcessEnv): string {
  if (env.PILLION_STATE_DIR) return env.PILLION_STATE_DIR;
  // The XDG spec says a relative value is to be ignored.
  if (env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME))
    return join(env.XDG_STATE_HOME, 'pillion');
  return join(env.HOME || homedir(), '.local', 'state', 'pillion');
}

function appProtocol(text: string | undefined): 'http1' | 'h2c' | undefined {
  if (text === undefined || text === 'http1' || text === 'h2c') return text;
  throw usageError(`--app-protocol: '${text}' is not http1 or h2c`, 'pillion run');
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
