import { mkdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, PillionError } from './errors.ts';

/**
 * Makes sure `dir` is a directory Pillion can write, creating the missing levels one at a time
 * (a recursive mkdir under /proc loops forever in libuv: ENOENT, retry); with `create` false the
 * first missing level is made and removed again, so nothing is left behind. Throws
 * STATE_DIR_UNWRITABLE naming `what` (the field or flag) and the reason.
 */
export function ensureStateDir(dir: string, what: string, create = true): void {
  const fail = (why: string, cause?: unknown): PillionError =>
    new PillionError(
      ErrorCode.STATE_DIR_UNWRITABLE,
      `${what}: ${dir} cannot be used as the state directory (${why}); choose a writable directory`,
      { cause },
    );
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(at).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw fail('a file is in the way: it is not a directory', err);
      if (code !== 'ENOENT') throw fail(`${at}: ${code}`, err);
      missing.unshift(at);
      const up = dirname(at);
      if (up === at) throw fail('no such directory');
      at = up;
      continue;
    }
    if (!isDir) throw fail(`${at} is not a directory`);
    break;
  }
  const made: string[] = [];
  try {
    for (const level of missing) {
      mkdirSync(level, { mode: 0o700 });
      made.push(level);
      if (!create) break;
    }
    if (create || missing.length === 0) {
      const probe = join(create ? dir : at, `.pillion-probe-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
    }
  } catch (err) {
    throw fail((err as NodeJS.ErrnoException).code ?? (err as Error).message, err);
  } finally {
    if (!create) for (const level of made.reverse()) rmdirSync(level);
  }
}
