// Starting and stopping what the bench runs. Every process is started pinned with `taskset`
// (which execs the command, so the PID we hold is the server's), recorded, and stopped by that
// PID: SIGTERM, then SIGKILL after 3 s to it and to every descendant seen before the stop.
// On exit or a signal, whatever is still recorded is killed the same way. Nothing is ever
// looked up or signalled by name.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTime, treePids } from './proc.ts';

const started = new Set<ChildProcess>();

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr go to this file. */
  log: string;
}

/** Records a child started elsewhere (a load generator) so that exit and signals stop it too. */
export function track(child: ChildProcess): void {
  started.add(child);
  child.once('exit', () => started.delete(child));
}

/** Starts `cmd` pinned to `cores` (a taskset list such as "1" or "0,1"). */
export function startPinned(
  cores: string,
  cmd: string,
  args: string[],
  opts: StartOptions,
): ChildProcess {
  const fd = openSync(opts.log, 'a');
  try {
    const child = spawn('taskset', ['-c', cores, cmd, ...args], {
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    track(child);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** The tree as PID -> start time, so a PID reused by another process later is not signalled. */
function snapshot(root: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const pid of treePids(root)) {
    const t = startTime(pid);
    if (t !== undefined) out.set(pid, t);
  }
  return out;
}

function killTree(tree: Map<number, string>): void {
  for (const [pid, t] of tree) {
    if (startTime(pid) !== t) continue; // exited (or the PID now names someone else)
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** SIGTERM, up to 3 s for it to exit, then SIGKILL to it and its descendants. */
export async function stopTree(child: ChildProcess): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const tree = snapshot(pid);
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
  }
  killTree(tree);
  started.delete(child);
}

/** Kills everything still recorded (synchronous, for 'exit'). */
export function killAllStarted(): void {
  for (const c of started) if (c.pid !== undefined) killTree(snapshot(c.pid));
  started.clear();
}

let cleanupInstalled = false;
/** On exit, SIGINT or SIGTERM: kill what we started, then run `also` (e.g. remove scratch). */
export function installCleanup(also: () => void): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on('exit', () => {
    killAllStarted();
    also();
  });
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(sig, () => {
      console.error(`bench: ${sig}, stopping what it started`);
      process.exit(code);
    });
  }
}

/** Pins this process (all its threads) to `cores`; children it spawns inherit it. */
export function pinSelf(cores: string): void {
  execFileSync('taskset', ['-a', '-cp', cores, String(process.pid)], { stdio: 'ignore' });
}

/** A free TCP port on 127.0.0.1, chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Resolves once 127.0.0.1:port accepts a connection; throws after `ms` or if `child` exits. */
export async function waitPort(port: number, ms: number, child?: ChildProcess): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(`exited (${child.exitCode ?? child.signalCode}) before listening on ${port}`);
    }
    if (await accepts(port)) return;
    await sleep(50);
  }
  throw new Error(`nothing accepted on 127.0.0.1:${port} within ${ms} ms`);
}
