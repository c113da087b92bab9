// The egress section resolved for the egress concern: durations in ms, endpoints split, the
// timeout's short form expanded. Built once by settingsOf; the concern parses nothing again.
import { parseDuration } from '../core/duration.ts';
import type { FileConfig } from './schema.ts';

export interface EndpointSettings {
  /** As written: `https://host:port`. */
  url: string;
  /** `https://host:port` with the port filled in, no trailing slash. */
  origin: string;
  host: string;
  port: number;
  tls: boolean;
}

export interface EgressServiceSettings {
  name: string;
  endpoints: EndpointSettings[];
  connectTimeoutMs: number;
  perTryTimeoutMs: number;
  totalTimeoutMs: number;
  retry: {
    maxRetries: number;
    on: readonly number[];
    backoffMs: number;
    maxBackoffMs: number;
    maxRetryAfterMs: number;
    budget: number;
    minRetries: number;
  };
  /** File paths (absolute); read by the egress when it starts or reloads. */
  tls: { ca?: string; cert?: string; key?: string; servername?: string; verify: boolean };
  balance: 'round_robin' | 'least_request';
  outlier: { consecutiveFailures: number; ejectionMs: number; maxEjectionMs: number };
  health?: {
    path: string;
    intervalMs: number;
    timeoutMs: number;
    unhealthy: number;
    healthy: number;
  };
  dnsTtlMs: number;
}

export interface EgressSettings {
  host: string;
  port: number;
  /** None (and no forward proxy): the egress port is off. */
  services: EgressServiceSettings[];
  /** Forward-proxy mode: the hosts the app may reach by absolute-form requests or CONNECT. */
  forwardProxy?: { allow: AllowedHost[] };
}

/** One allow-list entry: a host (lower case), or a domain's subdomains; any port unless given. */
export interface AllowedHost {
  host: string;
  subdomains: boolean;
  port?: number;
}

function allowedOf(entry: string): AllowedHost {
  const m = /^(\*\.)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry) as RegExpExecArray;
  const host = (m[2] as string).replace(/^\[|\]$/g, '').toLowerCase();
  return { host, subdomains: m[1] !== undefined, ...(m[3] ? { port: Number(m[3]) } : {}) };
}

type Egress = NonNullable<FileConfig['egress']>;
type Service = NonNullable<Egress['services']>[string];

const ms = (v: unknown): number => parseDuration(String(v)) as number;

/** An endpoint URL (validated by the schema's pattern) split into its parts. */
export function endpointOf(url: string): EndpointSettings {
  const u = new URL(url);
  const tls = u.protocol === 'https:';
  const port = u.port === '' ? (tls ? 443 : 80) : Number(u.port);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { url, origin: `${u.protocol}//${u.hostname}:${port}`, host, port, tls };
}

function serviceOf(name: string, s: Service): EgressServiceSettings {
  // Defaults are filled in (effective.ts), inside the map of services too.
  const r = s.retry as Required<NonNullable<Service['retry']>>;
  const o = s.outlier as Required<NonNullable<Service['outlier']>>;
  const t = s.timeout;
  const timeouts =
    typeof t === 'object'
      ? { connect: ms(t.connect), perTry: ms(t.per_try), total: ms(t.total) }
      : { connect: 1000, perTry: ms(t), total: ms(t) };
  const tls = s.tls ?? {};
  const h = s.health;
  return {
    name,
    endpoints: s.endpoints.map(endpointOf),
    // A connection is one part of an attempt: never longer than the attempt.
    connectTimeoutMs: Math.min(timeouts.connect, timeouts.perTry, timeouts.total),
    perTryTimeoutMs: Math.min(timeouts.perTry, timeouts.total),
    totalTimeoutMs: timeouts.total,
    retry: {
      maxRetries: r.max_retries,
      on: r.on,
      backoffMs: ms(r.backoff),
      maxBackoffMs: ms(r.max_backoff),
      maxRetryAfterMs: ms(r.max_retry_after),
      budget: r.budget,
      minRetries: r.min_retries,
    },
    tls: {
      ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
      ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
      ...(tls.key !== undefined ? { key: tls.key } : {}),
      ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
      verify: tls.verify ?? true,
    },
    balance: s.balance ?? 'round_robin',
    outlier: {
      consecutiveFailures: o.consecutive_failures,
      ejectionMs: ms(o.ejection_time),
      maxEjectionMs: ms(o.max_ejection_time),
    },
    ...(h
      ? {
          health: {
            path: h.path,
            intervalMs: ms(h.interval) || 1,
            timeoutMs: ms(h.timeout),
            unhealthy: h.unhealthy as number,
            healthy: h.healthy as number,
          },
        }
      : {}),
    dnsTtlMs: ms(s.dns_ttl),
  };
}

/** The egress settings of a validated tree with defaults filled in. */
export function egressSettingsOf(
  e: FileConfig['egress'],
  split: (l: string) => { host: string; port: number },
): EgressSettings {
  const { host, port } = split((e?.listen as string | undefined) ?? '127.0.0.1:14001');
  const services = Object.entries(e?.services ?? {}).map(([n, s]) => serviceOf(n, s));
  const fp = e?.forward_proxy;
  return {
    host,
    port,
    services,
    ...(fp ? { forwardProxy: { allow: fp.allow.map(allowedOf) } } : {}),
  };
}
