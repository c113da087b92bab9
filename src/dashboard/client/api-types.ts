// The admin API's JSON shapes as the dashboard reads them (docs/dashboard.md lists the routes).

export interface Certificate {
  name: string;
  subject: string;
  issuer: string;
  not_after: string;
  expires_in_s: number;
  fingerprint256: string;
}

export interface Status {
  pillion: { version: string; node: string; pid: number; uptime_s: number };
  app: {
    state: string;
    pid: number | null;
    restarts: number;
    uptime_s: number | null;
    last_exit: { code: number | null; signal: string | null; reason: string } | null;
  };
  ready: boolean;
  draining: boolean;
  listen: { https: string | null; admin: string | null; probes: string | null };
  certificates: Certificate[];
}

export interface ProcessFigures {
  cpu_seconds: number;
  rss_bytes: number;
  fds: number;
  threads: number;
  processes: number;
}

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

export interface Stats {
  time_ms: number;
  process: { app: ProcessFigures | null; pillion: ProcessFigures | null };
  requests: {
    total: number;
    by_status_class: Partial<Record<StatusClass, number>>;
    active_connections: number;
    active_streams: number;
    latency_seconds: { p50: number | null; p90: number | null; p99: number | null };
  };
}

/** One log line as Pillion writes it in JSON. */
export type LogLine = Record<string, unknown> & {
  msg?: unknown;
  level?: unknown;
  source?: unknown;
};
