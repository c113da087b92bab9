// The Sidecar's monitoring wiring: the metrics concern fed from ingress, logs, the supervisor
// and the reload counts, and the admin listener's answers (status, stats, actions) built from
// them. Only wiring: the figures are counted in the concerns, served in admin/.
import { type ActionResult, AdminServer, type PageAnswer } from './admin/admin-server.ts';
import type { Settings } from './config/settings.ts';
import { ErrorCode } from './core/errors.ts';
import type { Logger } from './core/log.ts';
import { VERSION } from './core/version.ts';
import { isDashboardPath } from './dashboard/paths.ts';
import type { Egress } from './egress/index.ts';
import type { ConnectionCounters, Ingress } from './ingress/index.ts';
import type { ServedCertificate } from './ingress/tls/expiry.ts';
import type { Logs } from './logs/index.ts';
import {
  type CertificateInfo,
  type ConnectionFigures,
  type CountersData,
  Metrics,
} from './metrics/index.ts';
import type { Supervisor } from './supervisor/index.ts';
import type { WorkerPool } from './workers/index.ts';

/** A serving certificate as `/api/v1/status` shows it. */
export interface CertificateDetail extends CertificateInfo {
  subject?: string;
  issuer?: string;
  fingerprint256?: string;
}

/** What the monitoring reads from the running Sidecar, each read when asked. */
export interface MonitorParts {
  settings: () => Settings;
  logs: Logs;
  supervisor: Supervisor;
  /** The Ingress in this process; undefined with workers. */
  ingress: () => Ingress | undefined;
  /** The egress port, once the Sidecar runs; undefined before. */
  egress: () => Egress | undefined;
  /** The data-path workers, when ingress.workers > 1. */
  pool: () => WorkerPool | undefined;
  https: () => { host: string; port: number } | undefined;
  reloads: () => { applied: number; rejected: number };
  /** Readiness as /readyz answers it; `draining` is true from the first moment of a drain. */
  ready: () => boolean;
  draining: () => boolean;
  /** The serving certificates (the TLS side may offer its own list). */
  certificates: () => readonly CertificateDetail[];
  effectiveConfig: () => unknown;
  drain: () => void;
  reload: () => Promise<ActionResult>;
  log: Logger;
}

/** Metrics, unless nothing could read them (no admin and no probe listener). */
export function buildMetrics(p: MonitorParts): Metrics {
  return new Metrics({
    connections: () => connectionFigures(p.ingress()),
    logs: () => {
      const s = p.logs.stats;
      return {
        lines: s.lines,
        dropped: s.dropped,
        droppedApp: s.droppedApp,
        queued: p.logs.queuedBytes(),
      };
    },
    reloads: p.reloads,
    certificates: p.certificates,
    app: () => {
      const a = p.supervisor.status();
      return {
        ready: p.ready(),
        restarts: a.restarts,
        uptimeS: uptime(a.startedAt),
        lastExit: a.lastExit && { status: a.lastExit.status, reason: a.lastExit.reason },
      };
    },
    appPid: () => p.supervisor.pid,
    egress: () => p.egress()?.stats() ?? {},
    // With workers, each has its own terminator and the primary has none: no TLS figures.
    tls: () => p.ingress()?.tlsStats(),
    // With workers, the data path's counters are in their processes: asked for at each read.
    ...(p.settings().workers > 1 ? { remote: () => workerFigures(p.pool()) } : {}),
  });
}

/** The workers' request counters and their connection figures, summed. */
async function workerFigures(
  pool: WorkerPool | undefined,
): Promise<{ requests: CountersData[]; connections: ConnectionFigures }> {
  const c = await pool?.counters();
  const connections = connectionFigures(undefined);
  connections.open = c?.openConnections ?? 0;
  connections.streams = c?.inflight ?? 0;
  connections.rejected = c?.rejections ?? {};
  const requests: CountersData[] = [];
  for (const m of (c?.metrics ?? []) as WorkerMetrics[]) {
    requests.push(m.requests);
    const k = m.connections;
    connections.tlsHandshakes += k.tlsHandshakes;
    connections.bytesReceived += k.bytesReceived;
    connections.bytesSent += k.bytesSent;
    for (const [r, n] of Object.entries(k.tlsFailures))
      connections.tlsFailures[r] = (connections.tlsFailures[r] ?? 0) + n;
  }
  return { requests, connections };
}

/** What a worker sends in its `stats` answer (worker-main.ts). */
interface WorkerMetrics {
  requests: CountersData;
  connections: ConnectionCounters;
}

export function buildAdmin(p: MonitorParts, metrics: Metrics): AdminServer {
  const s = p.settings();
  const recent = p.logs.keepRecent();
  const admin: AdminServer = new AdminServer({
    listen: s.admin.listen,
    explicit: s.admin.explicit,
    ...(s.admin.probes !== undefined ? { probes: s.admin.probes } : {}),
    ...(s.admin.tokenFile !== undefined ? { tokenFile: s.admin.tokenFile } : {}),
    ...(s.admin.tls ? { tls: s.admin.tls } : {}),
    stateDir: s.stateDir,
    log: p.log,
    ready: () => ({ ready: p.ready(), reason: p.ready() ? null : notReadyReason(p) }),
    metrics: (accept) => metrics.render(accept),
    stats: () => metrics.stats(),
    config: p.effectiveConfig,
    logs: recent,
    status: () => status(p, admin),
    restart: async () => {
      const sup = p.supervisor;
      if (sup.status().attached)
        return fail(
          409,
          'the app was not started by Pillion (attach mode): it cannot be restarted',
        );
      await sup.restart('requested');
      const a = sup.status();
      return { status: 200, body: { ok: true, state: a.state, pid: a.pid, restarts: a.restarts } };
    },
    drain: () => {
      p.drain();
      return { status: 202, body: { ok: true, draining: true } };
    },
    reload: p.reload,
    page: (path, ifNoneMatch) =>
      isDashboardPath(path) ? dashboardPage(path, ifNoneMatch) : undefined,
  });
  return admin;
}

let dashboard: Promise<typeof import('./dashboard/index.ts')> | undefined;

/** A dashboard path's answer, the dashboard loaded at the first (dashboard/paths.ts). */
async function dashboardPage(path: string, ifNoneMatch: string | undefined): Promise<PageAnswer> {
  dashboard ??= import('./dashboard/index.ts');
  const { dashboardAsset } = await dashboard;
  return dashboardAsset(path, ifNoneMatch) as PageAnswer; // defined for every dashboard path
}

function fail(status: number, message: string): ActionResult {
  return { status, body: { ok: false, error: { code: ErrorCode.ADMIN_ACTION_REFUSED, message } } };
}

function notReadyReason(p: MonitorParts): string {
  if (p.draining()) return 'draining';
  return p.supervisor.notReadyReason() ?? 'the app is not ready yet';
}

function uptime(startedAt: number | undefined): number {
  return startedAt === undefined ? 0 : Math.round((performance.now() - startedAt) / 1000);
}

function connectionFigures(ingress: Ingress | undefined): ConnectionFigures {
  const c = ingress?.counters;
  return {
    open: ingress?.openConnections ?? 0,
    streams: ingress?.inflight ?? 0,
    tlsHandshakes: c?.tlsHandshakes ?? 0,
    tlsFailures: { ...c?.tlsFailures },
    bytesReceived: c?.bytesReceived ?? 0,
    bytesSent: c?.bytesSent ?? 0,
    rejected: ingress?.rejections ?? {},
  };
}

/** `GET /api/v1/status`. */
function status(p: MonitorParts, admin: AdminServer): Record<string, unknown> {
  const a = p.supervisor.status();
  const https = p.https();
  const now = Date.now();
  return {
    pillion: {
      version: VERSION,
      node: process.version,
      pid: process.pid,
      uptime_s: Math.round(process.uptime()),
    },
    app: {
      state: a.state,
      pid: a.pid ?? null,
      restarts: a.restarts,
      uptime_s: uptime(a.startedAt),
      last_exit: a.lastExit
        ? { code: a.lastExit.code, signal: a.lastExit.signal, reason: a.lastExit.reason }
        : null,
    },
    ready: p.ready(),
    draining: p.draining(),
    listen: {
      https: https
        ? `${https.host.includes(':') ? `[${https.host}]` : https.host}:${https.port}`
        : null,
      admin: admin.address ?? null,
      probes: admin.probesAddress ?? null,
    },
    certificates: p.certificates().map((c) => {
      const notAfter = new Date(c.notAfter);
      return {
        name: c.name,
        subject: c.subject ?? null,
        issuer: c.issuer ?? null,
        not_after: notAfter.toISOString(),
        expires_in_s: Math.round((notAfter.getTime() - now) / 1000),
        fingerprint256: c.fingerprint256 ?? null,
      };
    }),
  };
}

/** The serving certificates as the status and metrics show them. */
export function certificateDetails(served: readonly ServedCertificate[]): CertificateDetail[] {
  return served.map((c) => ({
    name: c.name,
    notAfter: new Date(c.notAfter),
    subject: c.subject,
    issuer: c.issuer,
    fingerprint256: c.fingerprint256,
  }));
}
