import { accessSync, constants } from 'node:fs';
import type { Logger } from '../core/log.ts';

/** Set in the environment of the Pillion that runs under the init, so it does not loop. */
export const UNDER_INIT_ENV = 'PILLION_UNDER_INIT';
/** Set to any value to keep Pillion as PID 1 without an init (orphans then stay zombies). */
export const NO_INIT_ENV = 'PILLION_NO_INIT';

const INITS = ['/usr/bin/tini', '/sbin/tini', '/usr/local/bin/tini', '/usr/bin/tini-static'];

/**
 * PID 1 must reap orphaned processes, and Node cannot wait for processes it did not spawn.
 * So when Pillion finds itself PID 1 (a container without --init), it replaces itself
 * (execve, same PID) with tini, which runs Pillion again as its child, reaps every orphan and
 * passes signals on. Returns only when it does not re-execute.
 */
export function reexecUnderInit(
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): void {
  if (pid !== 1 || env[UNDER_INIT_ENV] || env[NO_INIT_ENV]) return;
  const init = INITS.find((f) => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!init || typeof process.execve !== 'function') {
    log.warn(
      'running as PID 1 without an init: orphaned processes will stay zombies; install tini (apt-get install tini) or run the container with --init',
      { node: process.version },
    );
    return;
  }
  log.info('running as PID 1: re-executing under tini, which reaps orphaned processes', {
    init,
  });
  process.execve(
    init,
    [init, '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      ...env,
      [UNDER_INIT_ENV]: '1',
    },
  );
}
