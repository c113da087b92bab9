// Process figures read from /proc (Linux), never by running a command: CPU seconds, resident
// memory, open descriptors, threads and processes, for one process or its whole tree.
import { readdirSync, readFileSync } from 'node:fs';

/** What one process, or a tree of them, uses now. */
export interface ProcessFigures {
  /** User + system CPU, including children already reaped by a process of the tree. */
  cpuSeconds: number;
  rssBytes: number;
  fds: number;
  threads: number;
  processes: number;
}

/** Clock ticks per second of /proc/PID/stat: USER_HZ, 100 on every Linux ABI Node runs on. */
const TICKS = 100;

export const NO_FIGURES: ProcessFigures = {
  cpuSeconds: 0,
  rssBytes: 0,
  fds: 0,
  threads: 0,
  processes: 0,
};

/** One process's own figures; undefined when it is gone (or /proc cannot be read). */
export function readProcess(pid: number): ProcessFigures | undefined {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  // Fields after the command name, which is in parentheses and may hold spaces or ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17, threads 20.
  if (f[0] === 'Z') return undefined;
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  let fds = 0;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // Another user's process: its descriptors are not ours to count.
  }
  return {
    cpuSeconds: ticks / TICKS,
    rssBytes: kib(status, 'VmRSS:') * 1024,
    fds,
    threads: Number(f[17]),
    processes: 1,
  };
}

function kib(status: string, key: string): number {
  const at = status.indexOf(key);
  if (at === -1) return 0; // a kernel thread, or a process exiting
  return Number.parseInt(status.slice(at + key.length), 10) || 0;
}

/** The direct children of a process, from every one of its threads' `children` files. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const c of text.split(' ')) if (c) out.push(Number(c));
  }
  return out;
}

/** A process and all its descendants, summed; `skip` leaves out a subtree (the app under Pillion). */
export function readTree(root: number, skip: ReadonlySet<number> = new Set()): ProcessFigures {
  const sum: ProcessFigures = { ...NO_FIGURES };
  const seen = new Set<number>();
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    if (seen.has(pid) || skip.has(pid)) continue;
    seen.add(pid);
    const p = readProcess(pid);
    if (!p) continue;
    sum.cpuSeconds += p.cpuSeconds;
    sum.rssBytes += p.rssBytes;
    sum.fds += p.fds;
    sum.threads += p.threads;
    sum.processes += 1;
    todo.push(...childrenOf(pid));
  }
  return sum;
}
