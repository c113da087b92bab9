// The human form of `pillion status`: one line per subject, the label first.

export interface StatusReply {
  pillion: { version: string; node: string; pid: number; uptime_s: number };
  app: {
    state: string;
    pid: number | null;
    restarts: number;
    uptime_s: number | null;
    last_exit: { code: number | null; signal: string | null; reason?: string } | null;
  };
  ready: boolean;
  draining: boolean;
  listen: Record<string, string | null | undefined>;
  certificates?: {
    name: string;
    subject: string;
    not_after: string;
    expires_in_s: number;
    fingerprint256: string;
  }[];
}

interface Figures {
  cpu_seconds: number;
  rss_bytes: number;
  fds: number;
  processes: number;
}

export interface StatsReply {
  process?: { app?: Figures | null; pillion?: Figures | null };
  requests?: {
    total: number;
    by_status_class?: Record<string, number>;
    active_connections?: number;
    active_streams?: number;
    latency_seconds?: { p50?: number | null; p90?: number | null; p99?: number | null };
  };
}

/** 3d 4h, 2h 5m, 4m 10s, 12s. */
export function humanDuration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.floor(seconds);
  const [d, h, m] = [
    Math.floor(s / 86400),
    Math.floor((s % 86400) / 3600),
    Math.floor((s % 3600) / 60),
  ];
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

function mib(n: number | undefined): string {
  return typeof n === 'number' ? `${(n / 1048576).toFixed(1)} MiB` : '-';
}

function ms(s: number | null | undefined): string {
  return typeof s === 'number' ? `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)}ms` : '-';
}

function lastExit(e: StatusReply['app']['last_exit']): string {
  if (!e) return 'none';
  const how = e.signal ?? `code ${e.code ?? '?'}`;
  return e.reason ? `${how} (${e.reason})` : how;
}

/** The status reply (and the stats reply, when it came) as lines for a person. */
export function formatStatus(s: StatusReply, stats?: StatsReply): string {
  const rows: [string, string][] = [
    [
      'pillion',
      `${s.pillion.version}  pid ${s.pillion.pid}  up ${humanDuration(s.pillion.uptime_s)}  node ${s.pillion.node}`,
    ],
    [
      'app',
      `${s.app.state}  pid ${s.app.pid ?? '-'}  up ${humanDuration(s.app.uptime_s)}  restarts ${s.app.restarts}  last exit ${lastExit(s.app.last_exit)}`,
    ],
    ['ready', `${s.ready ? 'yes' : 'no'}${s.draining ? '  (draining)' : ''}`],
  ];
  for (const [name, at] of Object.entries(s.listen)) rows.push([name, at ?? 'off']);
  for (const c of s.certificates ?? []) {
    const days = Math.floor(c.expires_in_s / 86400);
    rows.push([
      'certificate',
      `${c.name}  ${c.subject}  expires ${c.not_after} (${days} days)  sha256 ${c.fingerprint256.slice(0, 23)}...`,
    ]);
  }
  const app = stats?.process?.app;
  const own = stats?.process?.pillion;
  if (app || own) {
    rows.push([
      'cpu',
      `app ${app ? `${app.cpu_seconds.toFixed(2)}s` : '-'}  pillion ${own ? `${own.cpu_seconds.toFixed(2)}s` : '-'}  (CPU seconds since start)`,
    ]);
    rows.push([
      'memory',
      `app ${mib(app?.rss_bytes)}${app ? ` (${app.processes} process${app.processes === 1 ? '' : 'es'}, ${app.fds} fds)` : ''}  pillion ${mib(own?.rss_bytes)}`,
    ]);
  }
  const r = stats?.requests;
  if (r) {
    const classes = Object.entries(r.by_status_class ?? {})
      .filter(([, n]) => n > 0)
      .map(([c, n]) => `${c} ${n}`)
      .join('  ');
    rows.push(['requests', `${r.total} total${classes ? `  ${classes}` : ''}`]);
    const l = r.latency_seconds ?? {};
    rows.push(['latency', `p50 ${ms(l.p50)}  p90 ${ms(l.p90)}  p99 ${ms(l.p99)}`]);
    rows.push([
      'connections',
      `${r.active_connections ?? '-'} open  ${r.active_streams ?? '-'} h2 streams`,
    ]);
  }
  return rows.map(([k, v]) => `${k.padEnd(12)}${v}\n`).join('');
}
