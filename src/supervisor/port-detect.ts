import { existsSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';

/** A TCP socket in LISTEN state, as read from /proc/net/tcp{,6}. */
export interface ListeningSocket {
  port: number;
  /** The address to connect to for this socket: loopback for a wildcard bind. */
  host: string;
  inode: number;
}

const TCP_LISTEN = '0A';

let reading: Promise<Map<number, ListeningSocket>> | undefined;

/**
 * All LISTEN sockets of this network namespace, keyed by socket inode. Callers at the same
 * time share one read: on a host with 10,000 sockets a read of /proc/net/tcp takes long
 * enough in libuv's threadpool that a crash-looping app, each instance leaving its readiness
 * check's read in flight, piled them up (126 open and 900 MiB RSS after 1,900 restarts,
 * bench/crash-loop.ts).
 */
export function listeningSockets(): Promise<Map<number, ListeningSocket>> {
  reading ??= readListeningSockets().finally(() => {
    reading = undefined;
  });
  return reading;
}

async function readListeningSockets(): Promise<Map<number, ListeningSocket>> {
  const found = new Map<number, ListeningSocket>();
  for (const [file, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    let text: string;
    try {
      text = await readFile(file, 'latin1');
    } catch {
      continue; // IPv6 disabled, or not Linux
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
      const [addrHex, portHex] = f[1].split(':');
      const inode = Number(f[9]);
      found.set(inode, {
        port: Number.parseInt(portHex, 16),
        host: connectHost(addrHex, v6),
        inode,
      });
    }
  }
  return found;
}

/**
 * The PID and all its descendants. Read from each process's `/proc/PID/task/TID/children`,
 * which costs a few reads per process of the tree; without it (a kernel lacking
 * CONFIG_PROC_CHILDREN), from the PPid field of every /proc/N/stat. The full scan read 100+
 * files every 100 ms while the app had not listened yet, and showed as the largest item of
 * Pillion's own code in a start-up profile.
 */
export async function processTree(rootPid: number): Promise<number[]> {
  hasChildrenFiles ??= existsSync(`/proc/self/task/${process.pid}/children`);
  if (!hasChildrenFiles) return scanTree(rootPid);
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) tree.push(...(await childrenOf(tree[i])));
  return tree;
}

let hasChildrenFiles: boolean | undefined;

/** Children of any thread of `pid` ([] once it is gone). */
async function childrenOf(pid: number): Promise<number[]> {
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return []; // exited meanwhile (or no such process)
  }
  const kids: number[] = [];
  for (const tid of tasks) {
    try {
      const text = await readFile(`/proc/${pid}/task/${tid}/children`, 'latin1');
      for (const c of text.split(' ')) if (/^\d+$/.test(c)) kids.push(Number(c));
    } catch {
      // The thread ended meanwhile.
    }
  }
  return kids;
}

/** The tree found by reading the parent of every process in /proc (exported for its test). */
export async function scanTree(rootPid: number): Promise<number[]> {
  const children = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // The command name is in parentheses and may itself contain spaces or ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i]) ?? []));
  return tree;
}

/** Socket inodes open in any of the given processes. */
async function socketInodes(pids: number[]): Promise<Set<number>> {
  const inodes = new Set<number>();
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = await readlink(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(Number(target.slice(8, -1)));
      } catch {
        // closed meanwhile
      }
    }
  }
  return inodes;
}

/**
 * The TCP sockets that the process tree rooted at `rootPid` listens on, ordered by port.
 * Linux only: it matches the tree's socket inodes against /proc/net/tcp{,6}.
 */
export async function treeListeningSockets(rootPid: number): Promise<ListeningSocket[]> {
  const listening = await listeningSockets();
  if (listening.size === 0) return [];
  const inodes = await socketInodes(await processTree(rootPid));
  const mine = new Map<number, ListeningSocket>();
  for (const inode of inodes) {
    const s = listening.get(inode);
    // An app listening on both 0.0.0.0 and :: for one port counts once.
    if (s && !mine.has(s.port)) mine.set(s.port, s);
  }
  return [...mine.values()].sort((a, b) => a.port - b.port);
}

/** Maps a /proc/net/tcp address to the host to dial: loopback for wildcard binds. */
function connectHost(hex: string, v6: boolean): string {
  if (!v6) {
    if (hex === '00000000') return '127.0.0.1';
    // Little-endian 32-bit words: 0100007F is 127.0.0.1.
    const n = Number.parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  if (/^0+$/.test(hex)) return '::1'; // [::] may be IPV6_V6ONLY, so dial IPv6 loopback
  if (hex === '00000000000000000000000001000000') return '::1';
  if (hex.startsWith('0000000000000000FFFF0000')) return connectHost(hex.slice(24), false);
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = hex.slice(i, i + 8);
    // Each 32-bit word is stored in host (little-endian) byte order.
    const bytes = [w.slice(6, 8), w.slice(4, 6), w.slice(2, 4), w.slice(0, 2)].join('');
    words.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  return words.map((w) => w.replace(/^0+(?=.)/, '')).join(':');
}

/**
 * The processes that hold a LISTEN socket on `port` (attach mode: the app Pillion did not
 * start). Only those visible in this PID namespace, and readable by this user, are found.
 */
export async function pidsListeningOn(port: number): Promise<number[]> {
  const inodes = new Set<number>();
  for (const s of (await listeningSockets()).values()) if (s.port === port) inodes.add(s.inode);
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const mine = await socketInodes([pid]);
    for (const inode of mine) {
      if (inodes.has(inode)) {
        pids.push(pid);
        break;
      }
    }
  }
  return pids.sort((a, b) => a - b);
}

/** The app's address, as found, and how it was found (for the 'app ready' line). */
export interface FoundPort {
  host: string;
  port: number;
  how: string;
  ports?: number[];
}

/**
 * Where the app listens, if it does yet: the given port once it is in LISTEN state, else the
 * port the process tree of `pid` listens on (`preferred` when among several, else the lowest).
 */
export async function findAppPort(
  appPort: number | undefined,
  pid: number | undefined,
  preferred: number,
): Promise<FoundPort | undefined> {
  if (appPort !== undefined) {
    const s = [...(await listeningSockets()).values()].find((x) => x.port === appPort);
    if (!s) return undefined;
    return { host: s.host, port: appPort, how: 'port given; LISTEN seen in /proc/net/tcp' };
  }
  if (pid === undefined) return undefined;
  const socks = await treeListeningSockets(pid);
  if (socks.length === 0) return undefined;
  const pick = socks.find((s) => s.port === preferred) ?? socks[0];
  return {
    host: pick.host,
    port: pick.port,
    how: "detected: the app's process tree listens on it (/proc/PID/fd matched to /proc/net/tcp)",
    ports: socks.map((s) => s.port),
  };
}
