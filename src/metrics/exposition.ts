// The /metrics text: prom-client formats the Prometheus 0.0.4 text and OpenMetrics 1.0.0, its
// families filled from one Snapshot at scrape time, never on the data path. prom-client
// is imported on the first scrape, so a Pillion nobody scrapes never loads it.
import type { Registry } from 'prom-client';
import { EGRESS_TLS_DEFS, type EgressFigures, type TlsFigures } from './egress-tls.ts';
import { HISTOGRAMS, histogramMetric } from './histograms.ts';
import type { ProcessFigures } from './proc.ts';
import { METHODS, PROTOCOLS, type RequestCounters, STATUS_CLASSES } from './requests.ts';

/** Everything /metrics shows, read once per scrape. */
export interface Snapshot {
  requests: RequestCounters;
  connections: ConnectionFigures;
  logs: LogFigures;
  reloads: { applied: number; rejected: number };
  certificates: { name: string; expiresInS: number }[];
  app: AppFigures;
  process: { app: ProcessFigures | undefined; pillion: ProcessFigures };
  /** The egress port's counters, by service (empty when egress is off). */
  egress: Record<string, EgressFigures>;
  /** The TLS terminator's counters; undefined with workers. */
  tls: TlsFigures | undefined;
}

export interface ConnectionFigures {
  open: number;
  streams: number;
  tlsHandshakes: number;
  /** Failed handshakes by OpenSSL/Node error code. */
  tlsFailures: Record<string, number>;
  bytesReceived: number;
  bytesSent: number;
  /** Connections refused or ended by Pillion, by reason. */
  rejected: Record<string, number>;
}

export interface LogFigures {
  /** App lines captured, by stream. */
  lines: Record<string, number>;
  /** Lines dropped by a full sink, by sink. */
  dropped: Record<string, number>;
  /** Of those, the app's own lines, by sink. */
  droppedApp: Record<string, number>;
  /** Bytes queued for each sink now (bounded by `logs.buffer_bytes`). */
  queued?: Record<string, number>;
}

export interface AppFigures {
  ready: boolean;
  restarts: number;
  uptimeS: number;
  /** The app's last exit: status is the code, or 128+N for signal N. */
  lastExit: { status: number; reason: string } | undefined;
}

export type Values = [labels: Record<string, string>, value: number][];
export interface Def {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels?: string[];
  values: (s: Snapshot) => Values;
}

const one = (v: number): Values => [[{}, v]];
const each = (label: string, rec: Record<string, number>): Values =>
  Object.entries(rec).map(([k, v]) => [{ [label]: k }, v]);
const proc = (
  who: 'app' | 'pillion',
  pick: (p: ProcessFigures) => number,
): ((s: Snapshot) => Values) => {
  return (s) => {
    const p = s.process[who];
    return p ? one(pick(p)) : [];
  };
};

/** Every counter and gauge, by Prometheus naming: `pillion_` prefix, base units, `_total`. */
const DEFS: Def[] = [
  {
    name: 'pillion_requests_total',
    help: 'Requests answered, by protocol, method and status class.',
    type: 'counter',
    labels: ['protocol', 'method', 'code'],
    values: (s) => {
      const out: Values = [];
      const r = s.requests.requests;
      const C = STATUS_CLASSES.length;
      for (let i = 0; i < r.length; i++) {
        if (r[i] === 0) continue;
        const c = i % C;
        const m = ((i - c) / C) % METHODS.length;
        const p = Math.floor(i / (C * METHODS.length));
        out.push([{ protocol: PROTOCOLS[p], method: METHODS[m], code: STATUS_CLASSES[c] }, r[i]]);
      }
      return out;
    },
  },
  {
    name: 'pillion_response_bytes_total',
    help: 'Response bytes sent to clients (bodies as the access log counts them).',
    type: 'counter',
    values: (s) => one(s.requests.responseBytes),
  },
  {
    name: 'pillion_requests_held_total',
    help: 'Requests that waited for the app to become ready (at start or during a restart).',
    type: 'counter',
    values: (s) => one(s.requests.held),
  },
  {
    name: 'pillion_edge_rejections_total',
    help: 'Requests Pillion refused itself with a 4xx, by error code; none reached the app.',
    type: 'counter',
    labels: ['code'],
    values: (s) => errorsWhere(s, (code) => !SERVER_SIDE.has(code)),
  },
  {
    name: 'pillion_proxy_errors_total',
    help: 'Requests Pillion answered or cut with a 5xx (app unreachable, reset, timeout, not ready), by error code.',
    type: 'counter',
    labels: ['code'],
    values: (s) => errorsWhere(s, (code) => SERVER_SIDE.has(code)),
  },
  {
    name: 'pillion_app_connect_errors_total',
    help: 'Requests whose connection to the app failed.',
    type: 'counter',
    values: (s) => one(s.requests.errors.get('PILLION_APP_UNREACHABLE') ?? 0),
  },
  {
    name: 'pillion_connections_active',
    help: 'Client connections open now.',
    type: 'gauge',
    values: (s) => one(s.connections.open),
  },
  {
    name: 'pillion_streams_active',
    help: 'Requests (HTTP/1.1 exchanges and HTTP/2 streams) in flight to the app now.',
    type: 'gauge',
    values: (s) => one(s.connections.streams),
  },
  {
    name: 'pillion_tls_handshakes_total',
    help: 'TLS handshakes completed.',
    type: 'counter',
    values: (s) => one(s.connections.tlsHandshakes),
  },
  {
    name: 'pillion_tls_handshake_failures_total',
    help: 'TLS handshakes that failed, by error code.',
    type: 'counter',
    labels: ['reason'],
    values: (s) => each('reason', s.connections.tlsFailures),
  },
  {
    name: 'pillion_received_bytes_total',
    help: 'Bytes received from clients on closed connections (TLS records included).',
    type: 'counter',
    values: (s) => one(s.connections.bytesReceived),
  },
  {
    name: 'pillion_sent_bytes_total',
    help: 'Bytes sent to clients on closed connections (TLS records included).',
    type: 'counter',
    values: (s) => one(s.connections.bytesSent),
  },
  {
    name: 'pillion_connections_rejected_total',
    help: 'Connections refused or ended by Pillion, by reason.',
    type: 'counter',
    labels: ['reason'],
    values: (s) => each('reason', s.connections.rejected),
  },
  {
    name: 'pillion_log_lines_total',
    help: "The app's log lines captured, by stream.",
    type: 'counter',
    labels: ['stream'],
    values: (s) => each('stream', s.logs.lines),
  },
  {
    name: 'pillion_log_lines_dropped_total',
    help: 'Log lines a full sink dropped (logs.when_full: drop), by sink; exactly the lines lost.',
    type: 'counter',
    labels: ['sink'],
    values: (s) => each('sink', s.logs.dropped),
  },
  {
    name: 'pillion_app_log_lines_dropped_total',
    help: "Of the dropped lines, the app's own, by sink.",
    type: 'counter',
    labels: ['sink'],
    values: (s) => each('sink', s.logs.droppedApp),
  },
  {
    name: 'pillion_log_queued_bytes',
    help: 'Bytes queued for each log sink now, waiting for it to take them (logs.buffer_bytes bounds it).',
    type: 'gauge',
    labels: ['sink'],
    values: (s) => each('sink', s.logs.queued ?? {}),
  },
  {
    name: 'pillion_config_reloads_total',
    help: 'Config reloads, by result (applied, rejected).',
    type: 'counter',
    labels: ['result'],
    values: (s) => [
      [{ result: 'applied' }, s.reloads.applied],
      [{ result: 'rejected' }, s.reloads.rejected],
    ],
  },
  {
    name: 'pillion_certificate_expiry_seconds',
    help: 'Seconds until each serving certificate expires (negative: expired).',
    type: 'gauge',
    labels: ['name'],
    values: (s) => s.certificates.map((c) => [{ name: c.name }, c.expiresInS]),
  },
  {
    name: 'pillion_app_ready',
    help: '1 while the app passes its readiness check and Pillion is not draining.',
    type: 'gauge',
    values: (s) => one(s.app.ready ? 1 : 0),
  },
  {
    name: 'pillion_app_restarts_total',
    help: 'Times the app was started again.',
    type: 'counter',
    values: (s) => one(s.app.restarts),
  },
  {
    name: 'pillion_app_uptime_seconds',
    help: 'Seconds since the running app instance started.',
    type: 'gauge',
    values: (s) => one(s.app.uptimeS),
  },
  {
    name: 'pillion_app_last_exit_status',
    help: "The app's last exit status (its code, or 128+N for signal N), labelled with why it ended.",
    type: 'gauge',
    labels: ['reason'],
    values: (s) =>
      s.app.lastExit ? [[{ reason: s.app.lastExit.reason }, s.app.lastExit.status]] : [],
  },
  ...processDefs('app', "the app's process tree"),
  ...processDefs('pillion', "Pillion's own processes (the app's tree left out)"),
  ...EGRESS_TLS_DEFS,
];

/** Every counter and gauge of a snapshot, for exporters other than the text (OTLP). */
export function families(
  s: Snapshot,
): { name: string; help: string; type: 'counter' | 'gauge'; values: Values }[] {
  return DEFS.map((d) => ({ name: d.name, help: d.help, type: d.type, values: d.values(s) }));
}

function processDefs(who: 'app' | 'pillion', what: string): Def[] {
  const p = who === 'app' ? 'pillion_app' : 'pillion_process';
  return [
    {
      name: `${p}_cpu_seconds_total`,
      help: `CPU time (user + system) of ${what}.`,
      type: 'counter',
      values: proc(who, (f) => f.cpuSeconds),
    },
    {
      name: `${p}_resident_memory_bytes`,
      help: `Resident memory of ${what}.`,
      type: 'gauge',
      values: proc(who, (f) => f.rssBytes),
    },
    {
      name: `${p}_open_fds`,
      help: `Open file descriptors of ${what}.`,
      type: 'gauge',
      values: proc(who, (f) => f.fds),
    },
    {
      name: `${p}_threads`,
      help: `Threads of ${what}.`,
      type: 'gauge',
      values: proc(who, (f) => f.threads),
    },
    {
      name: `${p}_processes`,
      help: `Processes in ${what}.`,
      type: 'gauge',
      values: proc(who, (f) => f.processes),
    },
  ];
}

/** Codes that are the server side's failure (a 5xx), as ingress/error-status.ts maps them. */
const SERVER_SIDE = new Set([
  'PILLION_APP_NOT_READY',
  'PILLION_APP_UNREACHABLE',
  'PILLION_APP_RESET',
  'PILLION_APP_TIMEOUT',
  'PILLION_APP_BAD_RESPONSE',
  'PILLION_DRAINING',
  'PILLION_DRAIN_TIMEOUT',
  'PILLION_FD_EXHAUSTED',
]);

function errorsWhere(s: Snapshot, keep: (code: string) => boolean): Values {
  const out: Values = [];
  for (const [code, n] of s.requests.errors) if (keep(code)) out.push([{ code }, n]);
  return out;
}

function openMetricsRegistry(client: typeof import('prom-client')): Registry {
  const reg = new client.Registry();
  reg.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE as never);
  return reg;
}

/** The two registries, one per format, built on the first scrape. */
export class Exposition {
  #built: Promise<{ prom: Registry; om: Registry }> | undefined;
  /** The snapshot the collect() functions read: set just before a registry renders. */
  #snap: Snapshot | undefined;

  /** Renders run one at a time: the collect() functions read the one snapshot in #snap. */
  #queue: Promise<unknown> = Promise.resolve();

  /** Renders `snap` as OpenMetrics when the client asks for it, else as Prometheus text. */
  render(snap: Snapshot, openMetrics: boolean): Promise<{ type: string; body: string }> {
    const run = this.#queue.then(async () => {
      this.#built ??= this.#build();
      const { prom, om } = await this.#built;
      const reg = openMetrics ? om : prom;
      this.#snap = snap;
      try {
        return { type: reg.contentType as string, body: await reg.metrics() };
      } finally {
        this.#snap = undefined;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #build(): Promise<{ prom: Registry; om: Registry }> {
    // `.default` is module.exports both when Node loads this CommonJS package and in the
    // published bundle, where a split-off CommonJS chunk has no named exports (scripts/build.ts).
    const client = (await import('prom-client')).default;
    // One set of metric objects per registry: an OpenMetrics render renames counters in place
    // (prom-client strips `_total`), which must not reach the Prometheus text.
    const make = (reg: Registry): Registry => {
      for (const d of DEFS) this.#metric(reg, d);
      for (const h of HISTOGRAMS)
        reg.registerMetric(
          histogramMetric(h.name, h.help, () => (this.#snap ? h.series(this.#snap) : [])) as never,
        );
      return reg;
    };
    return {
      prom: make(new client.Registry()),
      om: make(openMetricsRegistry(client)),
    };
  }

  /**
   * One family as the registry prints it, its samples those of the snapshot: a family with no
   * value is left out (prom-client's own Counter and Gauge would print a 0 for one with no
   * labels, e.g. the TLS counters of a primary whose workers terminate TLS).
   */
  #metric(reg: Registry, d: Def): void {
    const m = {
      // An OpenMetrics render renames a counter here (it strips `_total`), so get() reads it.
      name: d.name,
      type: d.type,
      get: async () => ({
        name: m.name,
        help: d.help,
        type: d.type,
        values: (this.#snap ? d.values(this.#snap) : []).map(([labels, value]) => ({
          labels,
          value,
        })),
        aggregator: 'sum',
      }),
      reset: () => {},
    };
    reg.registerMetric(m as never);
  }
}
