import { type ChildProcess, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import { ErrorCode, PillionError } from '../core/errors.ts';

/**
 * Starts the app without a shell, in its own process group, with stdin inherited and
 * stdout/stderr piped to Pillion. Resolves once the process exists; a command that cannot be
 * run rejects with COMMAND_NOT_FOUND (exit 127) or COMMAND_NOT_EXECUTABLE (exit 126).
 */
export function spawnApp(command: string[], env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const [file, ...args] = command;
  const child = spawn(file, args, { env, stdio: ['inherit', 'pipe', 'pipe'], detached: true });
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        reject(
          new PillionError(
            ErrorCode.COMMAND_NOT_FOUND,
            `cannot start the app: command not found: ${file}; check the name or give a full path`,
            { cause: err },
          ),
        );
      } else if (err.code === 'EACCES') {
        // execve says EACCES for a directory too; chmod would not help there.
        const dir = isDirectory(file);
        reject(
          new PillionError(
            ErrorCode.COMMAND_NOT_EXECUTABLE,
            dir
              ? `cannot start the app: ${file} is a directory; give the program inside it to run`
              : `cannot start the app: permission denied: ${file}; make it executable (chmod +x)`,
            { cause: err },
          ),
        );
      } else reject(err);
    });
  });
}

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

/** The shell convention for an exit: the code itself, or 128+N for death by signal N. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + (constants.signals[signal] ?? 0);
  return 1;
}
