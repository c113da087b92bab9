// The resolved config as the concerns take it: every default filled in (from the schema),
// durations in ms, sizes in bytes, paths absolute. Built once from the validated tree; nothing
// downstream parses a string of the config again.
import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import { parseDuration } from '../core/duration.ts';
import { parseSize } from '../core/size.ts';
import type { FileConfig, SecretRef } from './schema.ts';
import { type EgressSettings, egressSettingsOf } from './settings-egress.ts';

/** `ingress.tls.client` resolved: the same shape ingress/tls/client-auth.ts takes. */
export interface ClientAuthSettings {
  ca: string;
  mode: 'require' | 'optional';
  allow: { dns: string[]; uri: string[]; email: string[]; subject: string[] };
  header: string;
}

/** A health check: the port accepts, a GET answers, or a command (no shell) exits 0. */

/** Where the admin listener binds unless told (kept clear of Istio's 15000-15090 and Envoy's 9901). */
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:14000';

export type CheckSettings =
  | { kind: 'tcp' }
  | { kind: 'http'; path: string; status?: number }
  | { kind: 'exec'; argv: string[] };

export interface LifecycleSettings {
  restart: 'never' | 'on-failure' | 'always';
  /** Undefined: no limit. */
  maxRestarts?: number;
  /** Exits in a row before the app was ever ready that end Pillion; 0: never. */
  maxStartFailures: number;
  backoff: { baseMs: number; capMs: number; resetAfterMs: number };
  restartWindowMs: number;
  drainDelayMs: number;
  /** Undefined: the signal Pillion got. */
  stopSignal?: NodeJS.Signals;
  signalGroup: boolean;
  remapExit: Map<number, number>;
  readiness: CheckSettings;
  readinessIntervalMs: number;
  liveness?: { probe: CheckSettings; intervalMs: number; failures: number };
  startupGraceMs: number;
  probeTimeoutMs: number;
}

export interface LogsSettings {
  format: 'json' | 'human';
  level: 'debug' | 'info' | 'warn' | 'error';
  stdout: boolean;
  file?: { path: string; maxBytes: number; keep: number };
  otlp?: { endpoint: string };
  bufferBytes: number;
  whenFull: 'block' | 'drop';
  /** Where the stdout sink writes; Pillion's stdout unless embedded (a test's collector). */
  stdoutDest?: Writable;
  app: {
    maxLineBytes: number;
    overLong: 'split' | 'truncate';
    json: boolean;
    levelPrefix: boolean;
    multilineMs: number;
    stderrLevel: 'debug' | 'info' | 'warn' | 'error';
  };
  access: {
    enabled: boolean;
    format: 'json' | 'common' | 'combined';
    fields: readonly string[];
    redactQuery: readonly string[];
    maxPath: number;
  };
}

export interface LimitsSettings {
  maxHeaderBytes: number;
  maxHeaders: number;
  maxUriBytes: number;
  maxBodyBytes: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
  maxConcurrentStreams: number;
  headersTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  bodyMinBytes: number;
  keepAliveTimeoutMs: number;
  upstreamTimeoutMs: number;
  tunnelIdleTimeoutMs: number;
  websocketMaxFrameBytes: number;
  websocketMaxMessageBytes: number;
  underscoreHeaders: 'drop' | 'reject';
  forwardedFor: 'replace' | 'append';
}

/** One certificate chain and its key (`ingress.tls.cert`/`key`, or an entry of `certificates`). */
export interface CertPairSettings {
  cert: string;
  key: string;
  /** SNI names it is served for; absent: the certificate's own DNS names. */
  names?: string[];
  passphrase?: { file: string } | { env: string };
  /** The field it was given in, for messages: `ingress.tls` or `ingress.tls.certificates[1]`. */
  field: string;
}

/** `ingress.tls` resolved: the pairs served and the policy (ingress/tls/policy.ts). */
export interface TlsSettings {
  /** `ingress.tls.cert` and `key`: the pair for clients no SNI name matches. */
  default?: CertPairSettings;
  /** `ingress.tls.certificates`, in order. Neither these nor a default: a generated pair. */
  pairs: CertPairSettings[];
  profile: 'intermediate' | 'modern';
  /** Absent: the profile's. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
  groups?: string[];
  handshakeTimeoutMs: number;
  sessionTickets: boolean;
  ticketKeyRotationMs: number;
  /** mTLS (`ingress.tls.client`); absent: no client certificate is asked for. */
  client?: ClientAuthSettings;
}

export interface AdminSettings {
  /** `HOST:PORT` or `unix:/path`. */
  listen: string;
  /** False for the default address: when it is taken, Pillion runs without the listener. */
  explicit: boolean;
  probes?: string;
  tokenFile?: string;
  tls?: { cert: string; key: string };
}

export interface TelemetrySettings {
  /** Continue or start W3C trace context and pass it to the app. */
  traceparent: boolean;
  /** OTLP/HTTP base URL; absent: no export. */
  endpoint?: string;
  traces: boolean;
  /** 0: no metrics export. */
  metricsIntervalMs: number;
  serviceName: string;
}

/** What `pillion run` runs with. */
export interface Settings {
  /** The app's command; absent means attach to an app already listening on appPort. */
  command?: string[];
  listenHost: string;
  listenPort: number;
  /** `ingress.workers`, `auto` resolved to the available cores: data-path processes (1: none). */
  workers: number;
  appPort?: number;
  /** `app.protocol`: HTTP/1.1 to the app, or cleartext HTTP/2 (gRPC). */
  appProtocol: 'http1' | 'h2c';
  certFile?: string;
  keyFile?: string;
  tls: TlsSettings;
  /** `ingress.http_redirect`: a plain listener that redirects to HTTPS. */
  httpRedirect?: { host: string; port: number };
  stateDir: string;
  drainTimeoutMs: number;
  stopTimeoutMs: number;
  readyTimeoutMs: number;
  /** The config file in use, as named, if any. */
  configFile?: string;
  appConfig?: unknown;
  secrets: Record<string, SecretRef>;
  apiListen: string;
  restartOnChange: boolean;
  /** SIGHUP goes to the app instead of reloading the config file. */
  forwardSighup: boolean;
  lifecycle: LifecycleSettings;
  logs: LogsSettings;
  limits: LimitsSettings;
  admin: AdminSettings;
  telemetry: TelemetrySettings;
  /** The local egress port and its services (settings-egress.ts). */
  egress: EgressSettings;
}

/** A validated duration in ms. */
const ms = (v: string | number | undefined): number => parseDuration(String(v)) as number;
/** A validated size in bytes. */
const bytes = (v: string | number | undefined): number => parseSize(String(v)) as number;

function check(c: Record<string, unknown> | undefined): CheckSettings {
  if (c?.http !== undefined) {
    const m = /^(\/\S*?)(?:=(\d{3}))?$/.exec(String(c.http)) as RegExpExecArray;
    return m[2] ? { kind: 'http', path: m[1], status: Number(m[2]) } : { kind: 'http', path: m[1] };
  }
  if (c?.exec !== undefined) return { kind: 'exec', argv: c.exec as string[] };
  return { kind: 'tcp' };
}

/** `HOST:PORT`, `[::1]:PORT` or `:PORT` (any address). */
export function splitListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) as RegExpExecArray;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port: Number(m[3]) };
}

/** The settings of a validated tree with every default filled in and paths made absolute. */
export function settingsOf(t: FileConfig, configFile?: string): Settings {
  // Defaults are filled in, so the sections and their fields are all there.
  const app = t.app as Required<NonNullable<FileConfig['app']>>;
  const ingress = t.ingress as Required<NonNullable<FileConfig['ingress']>>;
  const logs = t.logs as Required<NonNullable<FileConfig['logs']>>;
  const drain = t.drain as Required<NonNullable<FileConfig['drain']>>;
  const lim = ingress.limits as Required<NonNullable<typeof ingress.limits>>;
  const { host, port } = splitListen(ingress.listen as string);
  const live = app.liveness as Record<string, unknown> | undefined;
  const la = logs.app as Required<NonNullable<typeof logs.app>>;
  const acc = logs.access as Required<NonNullable<typeof logs.access>>;
  const tel = t.telemetry as Required<
    Omit<NonNullable<FileConfig['telemetry']>, 'traceparent' | 'endpoint'>
  > &
    NonNullable<FileConfig['telemetry']>;
  const remapExit = new Map<number, number>();
  for (const item of app.remap_exit ?? []) {
    const [from, to] = item.split(':');
    remapExit.set(Number(from), Number(to ?? 0));
  }
  return {
    ...(app.command ? { command: app.command } : {}),
    listenHost: host,
    listenPort: port,
    workers: ingress.workers === 'auto' ? availableParallelism() : (ingress.workers as number),
    ...(app.port !== undefined ? { appPort: app.port } : {}),
    appProtocol: app.protocol,
    ...(ingress.tls?.cert && ingress.tls.key
      ? { certFile: ingress.tls.cert, keyFile: ingress.tls.key }
      : {}),
    tls: tlsOf(ingress.tls ?? {}),
    ...(ingress.http_redirect ? { httpRedirect: splitListen(ingress.http_redirect) } : {}),
    stateDir: t.state_dir as string,
    drainTimeoutMs: ms(drain.timeout),
    stopTimeoutMs: ms(app.stop_timeout),
    readyTimeoutMs: ms(app.ready_timeout),
    ...(configFile !== undefined ? { configFile } : {}),
    ...(app.config !== undefined ? { appConfig: app.config } : {}),
    secrets: app.secrets ?? {},
    apiListen: app.api?.listen as string,
    restartOnChange: app.restart_on_change,
    forwardSighup: app.forward_sighup,
    lifecycle: {
      restart: app.restart,
      ...(app.max_restarts !== undefined ? { maxRestarts: app.max_restarts } : {}),
      maxStartFailures: app.max_start_failures,
      backoff: {
        baseMs: ms(app.backoff.base),
        capMs: ms(app.backoff.max),
        resetAfterMs: ms(app.backoff.reset),
      },
      restartWindowMs: ms(app.restart_window),
      drainDelayMs: ms(drain.delay),
      ...(app.stop_signal ? { stopSignal: app.stop_signal as NodeJS.Signals } : {}),
      signalGroup: app.signal_group,
      remapExit,
      readiness: check(app.readiness),
      readinessIntervalMs: ms(app.readiness.interval),
      ...(live
        ? {
            liveness: {
              probe: check(live),
              // A zero interval would spin: one check a millisecond at most.
              intervalMs: ms(live.interval as string) || 1,
              failures: live.failures as number,
            },
          }
        : {}),
      startupGraceMs: ms(app.startup_grace),
      probeTimeoutMs: ms(app.probe_timeout),
    },
    logs: {
      format: logs.format,
      level: logs.level,
      stdout: logs.stdout,
      ...(logs.file
        ? {
            file: {
              path: logs.file.path,
              maxBytes: bytes(logs.file.max_size),
              keep: logs.file.keep as number,
            },
          }
        : {}),
      ...(logs.otlp ? { otlp: { endpoint: logs.otlp.endpoint } } : {}),
      bufferBytes: bytes(logs.buffer),
      whenFull: logs.when_full,
      app: {
        maxLineBytes: bytes(la.max_line),
        overLong: la.long_lines,
        // Not configurable: an app's JSON lines and level prefixes are always read.
        json: true,
        levelPrefix: true,
        multilineMs: ms(la.multiline),
        stderrLevel: la.stderr_level,
      },
      access: {
        enabled: acc.enabled,
        format: acc.format,
        fields: acc.fields,
        redactQuery: acc.redact_query,
        maxPath: bytes(acc.max_path),
      },
    },
    telemetry: {
      traceparent: tel.traceparent ?? tel.endpoint !== undefined,
      ...(tel.endpoint !== undefined ? { endpoint: tel.endpoint } : {}),
      traces: tel.traces,
      metricsIntervalMs: ms(tel.metrics_interval),
      serviceName: tel.service_name,
    },
    admin: {
      listen: t.admin?.listen ?? DEFAULT_ADMIN_LISTEN,
      explicit: t.admin?.listen !== undefined,
      ...(t.admin?.probes !== undefined ? { probes: t.admin.probes } : {}),
      ...(t.admin?.token_file !== undefined ? { tokenFile: t.admin.token_file } : {}),
      ...(t.admin?.tls ? { tls: { cert: t.admin.tls.cert, key: t.admin.tls.key } } : {}),
    },
    limits: {
      maxHeaderBytes: bytes(lim.max_header_bytes),
      maxHeaders: lim.max_headers,
      maxUriBytes: bytes(lim.max_uri_bytes),
      maxBodyBytes: bytes(lim.max_body_bytes),
      maxConnections: lim.max_connections,
      maxConnectionsPerSource: lim.max_connections_per_source,
      maxConcurrentStreams: lim.max_concurrent_streams,
      headersTimeoutMs: ms(lim.headers_timeout),
      bodyIdleTimeoutMs: ms(lim.body_idle_timeout),
      bodyMinBytes: bytes(lim.body_min_bytes),
      keepAliveTimeoutMs: ms(lim.keep_alive_timeout),
      upstreamTimeoutMs: ms(lim.upstream_timeout),
      tunnelIdleTimeoutMs: ms(lim.tunnel_idle_timeout),
      websocketMaxFrameBytes: bytes(lim.websocket_max_frame_bytes),
      websocketMaxMessageBytes: bytes(lim.websocket_max_message_bytes),
      underscoreHeaders: lim.underscore_headers,
      forwardedFor: ingress.forwarded_for,
    },
    egress: egressSettingsOf(t.egress, splitListen),
  };
}

type TlsTree = NonNullable<NonNullable<FileConfig['ingress']>['tls']>;

function tlsOf(t: TlsTree): TlsSettings {
  const pair = (
    p: {
      cert: string;
      key: string;
      names?: string[];
      passphrase?: { file?: string; env?: string };
    },
    field: string,
  ): CertPairSettings => ({
    cert: p.cert,
    key: p.key,
    ...(p.names ? { names: p.names.map((n) => n.toLowerCase().replace(/\.$/, '')) } : {}),
    ...(p.passphrase
      ? {
          passphrase: (p.passphrase.file !== undefined
            ? { file: p.passphrase.file }
            : { env: p.passphrase.env }) as CertPairSettings['passphrase'],
        }
      : {}),
    field,
  });
  return {
    ...(t.cert && t.key
      ? { default: pair({ cert: t.cert, key: t.key, passphrase: t.passphrase }, 'ingress.tls') }
      : {}),
    pairs: (t.certificates ?? []).map((c, i) => pair(c, `ingress.tls.certificates[${i}]`)),
    profile: t.profile ?? 'intermediate',
    ...(t.min_version ? { minVersion: t.min_version } : {}),
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
    ...(t.groups ? { groups: [...t.groups] } : {}),
    handshakeTimeoutMs: ms(t.handshake_timeout),
    sessionTickets: t.session_tickets ?? true,
    ticketKeyRotationMs: ms(t.ticket_key_rotation),
    ...(t.client ? { client: clientAuthOf(t.client) } : {}),
  };
}

/** `ingress.tls.client` with its defaults filled in. */
function clientAuthOf(cl: NonNullable<TlsTree['client']>): ClientAuthSettings {
  const a = cl.allow ?? {};
  return {
    ca: cl.ca,
    mode: cl.mode ?? 'require',
    allow: { dns: a.dns ?? [], uri: a.uri ?? [], email: a.email ?? [], subject: a.subject ?? [] },
    header: cl.header ?? 'x-forwarded-client-cert',
  };
}
