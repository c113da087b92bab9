import type { ActionResult } from '../admin/admin-server.ts';
import { changedFields } from '../config/diff.ts';
import { redact } from '../config/effective.ts';
import { parseRunArgv, type RunArgs } from '../config/flags.ts';
import { type Resolved, resolveConfig } from '../config/resolve.ts';
import { ConfigWatcher } from '../config/watch.ts';
import type { Logger } from '../core/log.ts';
import type { SinkOutput } from '../logs/output.ts';
import { type ReloadResult, Sidecar } from '../sidecar.ts';
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
export async function runCommand(args: string[], log: Logger<SinkOutput>): Promise<number> {
  const r = prepareRun(args);
  if (!r) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  reexecUnderInit(log);
  // The admin API's config view and reload: the file as last applied, secrets redacted.
  let current = r.resolved;
  let outcome: ActionResult | undefined;
  const sidecar = new Sidecar(r.resolved.settings, log, {
    effectiveConfig: () => redact(current.tree, current.fromEnv),
    ...(r.resolved.file !== undefined
      ? {
          reloadFile: async () => {
            outcome = undefined;
            await watcher?.reloadNow();
            return (
              outcome ?? {
                status: 200,
                body: { ok: true, applied: [], app_restarted: [], need_restart: [] },
              }
            );
          },
        }
      : {}),
  });
  const watcher =
    r.resolved.file === undefined
      ? undefined
      : watchConfig(r, sidecar, log, {
          applied: (next, result) => {
            current = next;
            outcome = {
              status: 200,
              body: {
                ok: true,
                applied: result.applied,
                app_restarted: result.appRestarted,
                need_restart: result.needRestart,
              },
            };
          },
          rejected: (err) => {
            const e = err as Error & { code?: string };
            outcome = {
              status: 422,
              body: {
                ok: false,
                error: { code: e.code ?? 'PILLION_INTERNAL', message: e.message.split('\n') },
              },
            };
          },
        });
  // SIGHUP reloads the config file, as it does for NGINX; app.forward_sighup passes it on.
  const onHangup = (): void => {
    if (watcher) watcher.reloadNow();
    else log.child('config').info('SIGHUP: no config file to reload');
  };
  if (!r.resolved.settings.forwardSighup) process.on('SIGHUP', onHangup);
  try {
    return await sidecar.run();
  } finally {
    process.off('SIGHUP', onHangup);
    watcher?.close();
  }
}

/** Reloads the config file on change; flags keep overriding the file. */
function watchConfig(
  start: { run: RunArgs; resolved: Resolved },
  sidecar: Sidecar,
  log: Logger,
  tell: {
    applied: (next: Resolved, result: ReloadResult) => void;
    rejected: (err: unknown) => void;
  },
): ConfigWatcher {
  const clog = log.child('config');
  const file = start.resolved.file as string;
  let current = start.resolved;
  const watcher = new ConfigWatcher({
    file,
    counts: sidecar.reloads,
    apply: async (text) => {
      const next = resolveConfig({ run: start.run, text });
      const changes = changedFields(current.tree, next.tree);
      const result = await sidecar.reload(next.settings, changes);
      current = next;
      tell.applied(next, result);
      // Field paths only: a value may be a secret.
      clog.info('config applied', { fields: result.applied });
      if (result.appRestarted.length > 0)
        clog.info('app restarted to apply changed config fields', { fields: result.appRestarted });
      if (result.needRestart.length > 0)
        clog.warn('config fields changed that apply only at the next start; not applied', {
          fields: result.needRestart,
        });
    },
    applied: (counts) =>
      clog.info('config reloaded', { file, reloads: counts.applied, rejected: counts.rejected }),
    rejected: (err, counts) => {
      tell.rejected(err);
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
