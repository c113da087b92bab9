import { parseRunArgv, type RunArgs } from '../config/flags.ts';
import { type Resolved, resolveConfig } from '../config/resolve.ts';
import { ConfigWatcher } from '../config/watch.ts';
import type { Logger } from '../core/log.ts';
import { Sidecar } from '../sidecar.ts';
import { reexecUnderInit } from '../supervisor/pid1.ts';
import { checkFiles } from './checks.ts';
import { RUN_HELP, usageError } from './usage.ts';

/**
 * The config `pillion run ARGS` runs with: the file and the flags resolved once, the same way
 * `pillion validate` and `pillion config` resolve them. Undefined when help was asked for.
 */
export function resolveRun(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { run: RunArgs; resolved: Resolved } | undefined {
  const run = parseRunArgv(args);
  if (run.help) return undefined;
  const resolved = resolveConfig({ run, env, cwd });
  const s = resolved.settings;
  if (s.command === undefined && s.appPort === undefined) {
    throw usageError(
      "missing the app's command: pillion run -- CMD [ARGS...], or --app-port N to attach to a running app",
      'pillion run',
    );
  }
  return { run, resolved };
}

/**
 * Everything `pillion run` checks before it starts anything: the resolved config, the
 * certificate files and the state directory (made if missing). Undefined for help.
 */
export function prepareRun(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): { run: RunArgs; resolved: Resolved } | undefined {
  const r = resolveRun(args, env, cwd);
  if (r) checkFiles(r.resolved, true);
  return r;
}

/** `pillion run`: resolves with the process exit code. */
export async function runCommand(args: string[], log: Logger): Promise<number> {
  const r = prepareRun(args);
  if (!r) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  reexecUnderInit(log);
  const sidecar = new Sidecar(r.resolved.settings, log);
  const watcher =
    r.resolved.file === undefined ? undefined : watchConfig(r.resolved.file, r.run, sidecar, log);
  try {
    return await sidecar.run();
  } finally {
    watcher?.close();
  }
}

/** Reloads the config file on change; flags keep overriding the file. */
function watchConfig(file: string, run: RunArgs, sidecar: Sidecar, log: Logger): ConfigWatcher {
  const clog = log.child('config');
  const watcher = new ConfigWatcher({
    file,
    apply: async (text) => {
      const next = resolveConfig({ run, text });
      const { appRestarted, needRestart } = await sidecar.reload(next.settings);
      if (appRestarted.length > 0)
        clog.info('app restarted to apply changed config fields', { fields: appRestarted });
      if (needRestart.length > 0)
        clog.warn('config fields changed that apply only at the next start; not applied', {
          fields: needRestart,
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
