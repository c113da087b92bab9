import { type ChildProcess, spawn } from 'node:child_process';
import type { Logger } from '../core/log.ts';

// The watchdog reads Pillion's orders on stdin. When stdin ends without `done`, Pillion has
// died (the kernel closes a killed process's pipes), so it stops the app's process group: the
// stop signal, then SIGKILL after the stop timeout. It ignores signals sent to Pillion's group.
const SCRIPT = `trap '' HUP INT QUIT TERM USR1 USR2 WINCH
pg=
while read -r cmd arg; do
  case "$cmd" in
    pgid) pg=$arg ;;
    done) exit 0 ;;
  esac
done
[ -n "$pg" ] || exit 0
kill -"$1" -"$pg" 2>/dev/null || exit 0
i=0
while [ "$i" -lt "$2" ]; do
  kill -0 -"$pg" 2>/dev/null || exit 0
  sleep 0.1
  i=$((i + 1))
done
kill -KILL -"$pg" 2>/dev/null
exit 0
`;

/**
 * Keeps the app from outliving Pillion. Node cannot set PR_SET_PDEATHSIG on its children, so
 * a tiny /bin/sh process holds the read end of a pipe from Pillion and is told the app's
 * process group; if Pillion dies, even by SIGKILL, the pipe ends and the watchdog stops the
 * group. On a normal exit Pillion sends `done` first.
 */
export class Watchdog {
  readonly #child: ChildProcess;
  #closed = false;

  constructor(stopSignal: NodeJS.Signals, stopTimeoutMs: number, log: Logger) {
    const ticks = String(Math.max(1, Math.ceil(stopTimeoutMs / 100)));
    this.#child = spawn('/bin/sh', ['-c', SCRIPT, 'pillion-watchdog', stopSignal.slice(3), ticks], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    this.#child.on('error', (err) => log.warn('app watchdog failed', { reason: err.message }));
    this.#child.stdin?.on('error', () => {});
    log.info('app watchdog started', { watchdog_pid: this.#child.pid });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** The process group to stop if Pillion dies (the app leads its own group). */
  watch(pgid: number): void {
    if (!this.#closed) this.#child.stdin?.write(`pgid ${pgid}\n`);
  }

  /** The app is gone or being stopped by Pillion itself: the watchdog exits. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#child.stdin?.end('done\n');
  }
}
