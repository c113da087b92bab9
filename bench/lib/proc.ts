// What the bench reads from /proc: a process tree (a PID and its descendants, found through
// each process's parent PID), its CPU time (utime + stime of every process, which already
// covers all its threads), its memory (VmRSS/VmHWM summed) and the busy time of each core.
// A master/worker server (nginx) or a proxy with helper processes is measured whole.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of the utime/stime fields (100 on Linux, read once). */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** Fields of /proc/PID/stat after the command name (index 0 = state, 1 = ppid, 11 = utime). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces or ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone while we looked
  }
}

/** `root` and every descendant that is alive now. */
export function treePids(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = Number(statFields(pid)?.[1]);
    if (!ppid) continue;
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  if (statFields(root) === undefined) return [];
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]) ?? []));
  return out;
}

/** Start time (ticks since boot) of a process: with the PID, it names one process for good. */
export function startTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/** utime + stime in clock ticks, summed over the tree. */
export function treeTicks(root: number): number {
  let t = 0;
  for (const pid of treePids(root)) {
    const f = statFields(pid);
    if (f) t += Number(f[11]) + Number(f[12]);
  }
  return t;
}

/** CPU ticks of this process's children that have exited and been reaped (cutime + cstime). */
export function reapedChildTicks(): number {
  const f = statFields('self');
  return f ? Number(f[13]) + Number(f[14]) : 0;
}

/** CPU ticks and command name of every process now (to name what else kept the machine busy). */
export function allTicks(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(pid, {
        comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')),
        ticks: Number(f[11]) + Number(f[12]),
      });
    } catch {
      // gone
    }
  }
  return out;
}

/** The busiest processes between two snapshots, leaving out `mine`, as "comm PID N%" strings. */
export function busiestOthers(
  a: Map<number, { comm: string; ticks: number }>,
  b: Map<number, { comm: string; ticks: number }>,
  mine: Set<number>,
  wallS: number,
  top = 3,
): string[] {
  const rows: { label: string; pct: number }[] = [];
  for (const [pid, now] of b) {
    if (mine.has(pid)) continue;
    const pct = (100 * (now.ticks - (a.get(pid)?.ticks ?? 0))) / CLK_TCK / wallS;
    if (pct >= 1) rows.push({ label: `${now.comm} ${pid} ${pct.toFixed(0)}%`, pct });
  }
  return rows
    .sort((x, y) => y.pct - x.pct)
    .slice(0, top)
    .map((r) => r.label);
}

/** A kB or count field of /proc/PID/status (VmRSS, VmHWM, Threads), summed over the tree. */
export function treeStatus(root: number, key: 'VmRSS' | 'VmHWM' | 'Threads'): number {
  let sum = 0;
  for (const pid of treePids(root)) {
    try {
      const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(
        readFileSync(`/proc/${pid}/status`, 'utf8'),
      );
      if (m) sum += Number(m[1]);
    } catch {
      // exited meanwhile
    }
  }
  return sum;
}

export interface CoreTimes {
  busy: number;
  total: number;
  steal: number;
}

/** Jiffies per core from /proc/stat; busy leaves out idle, iowait and steal. */
export function coreTimes(): CoreTimes[] {
  const out: CoreTimes[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)/.exec(line);
    if (!m) continue;
    const v = m[2].trim().split(/\s+/).map(Number);
    // user nice system idle iowait irq softirq steal (guest is already inside user)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    out[Number(m[1])] = { busy: total - v[3] - v[4] - v[7], total, steal: v[7] };
  }
  return out;
}

/** Busy and steal % of each listed core between two snapshots. */
export function coreBusy(
  a: CoreTimes[],
  b: CoreTimes[],
  cores: number[],
): { busy: number[]; steal: number } {
  let steal = 0;
  let total = 0;
  const busy = cores.map((c) => {
    const dt = b[c].total - a[c].total;
    steal += b[c].steal - a[c].steal;
    total += dt;
    return dt > 0 ? (100 * (b[c].busy - a[c].busy)) / dt : 0;
  });
  return { busy, steal: total > 0 ? (100 * steal) / total : 0 };
}

/** Parses a taskset core list ("1", "0,1", "0-1") into core numbers. */
export function parseCores(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) out.push(c);
  }
  return out;
}
