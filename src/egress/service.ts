// A named service: its endpoints, how one is chosen, its retry budget and its counters. A set
// of services is built whole at start or on a reload (reading the TLS files may fail there),
// and requests in flight keep the set they started with.
import { X509Certificate } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import { readFile } from 'node:fs/promises';
import type { LookupFunction } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { EgressServiceSettings } from '../config/settings-egress.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { Endpoint, type TlsMaterial } from './endpoint.ts';
import { RetryBudget } from './retry.ts';

/** Latency histogram bounds in ms (the last bucket is everything above). */
export const LATENCY_BUCKETS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** One service's counters since start, for the metrics concern. */
export interface ServiceStats {
  requests: number;
  /** Responses by class: `2xx` … `5xx`, Pillion's own answers included. */
  responses: Record<string, number>;
  retries: number;
  /** Retries the budget refused. */
  budgetExhausted: number;
  timeouts: number;
  ejections: number;
  openConnections: number;
  latency: { bucketsMs: readonly number[]; counts: number[]; sumMs: number; count: number };
}

export class Service {
  readonly name: string;
  readonly settings: EgressServiceSettings;
  readonly endpoints: Endpoint[];
  readonly budget: RetryBudget;
  readonly stats: ServiceStats;
  #next = 0;

  constructor(
    settings: EgressServiceSettings,
    tls: TlsMaterial,
    stats: ServiceStats,
    log: Logger,
    lookup: LookupFunction,
  ) {
    this.name = settings.name;
    this.settings = settings;
    this.stats = stats;
    this.budget = new RetryBudget(settings.retry.budget, settings.retry.minRetries);
    this.endpoints = settings.endpoints.map(
      (ep) =>
        new Endpoint(
          ep,
          settings,
          tls,
          (e, what, ms) => {
            if (what === 'ejected') stats.ejections++;
            log.warn(`egress endpoint ${what}`, {
              service: this.name,
              endpoint: e.url,
              ...(ms !== undefined ? { ejected_ms: ms } : {}),
            });
          },
          lookup,
        ),
    );
  }

  /**
   * The endpoint for the next attempt: an available one not tried yet for this request, else any
   * available one, else (all ejected or unhealthy) any at all, as Envoy's panic threshold does:
   * a wrong ejection of every endpoint must not turn into a full outage.
   */
  pick(tried: ReadonlySet<Endpoint>, now: number): Endpoint {
    const all = this.endpoints;
    let pool = all.filter((e) => e.available(now) && !tried.has(e));
    if (pool.length === 0) pool = all.filter((e) => e.available(now));
    if (pool.length === 0) pool = all;
    const start = this.#next++ % pool.length;
    if (this.settings.balance === 'round_robin') return pool[start] as Endpoint;
    // Least request; ties go round-robin, so equal endpoints share the load.
    let best = pool[start] as Endpoint;
    for (let i = 1; i < pool.length; i++) {
      const e = pool[(start + i) % pool.length] as Endpoint;
      if (e.active < best.active) best = e;
    }
    return best;
  }

  /** A finished request's latency and status class. */
  observe(ms: number, status: number): void {
    const l = this.stats.latency;
    let i = 0;
    while (i < LATENCY_BUCKETS_MS.length && ms > (LATENCY_BUCKETS_MS[i] as number)) i++;
    l.counts[i] = (l.counts[i] as number) + 1;
    l.sumMs += ms;
    l.count++;
    const cls = `${Math.floor(status / 100)}xx`;
    this.stats.responses[cls] = (this.stats.responses[cls] ?? 0) + 1;
  }

  openConnections(): number {
    return this.endpoints.reduce((n, e) => n + e.pool.stats.connected, 0);
  }
}

export function emptyStats(): ServiceStats {
  return {
    requests: 0,
    responses: {},
    retries: 0,
    budgetExhausted: 0,
    timeouts: 0,
    ejections: 0,
    openConnections: 0,
    latency: {
      bucketsMs: LATENCY_BUCKETS_MS,
      counts: new Array(LATENCY_BUCKETS_MS.length + 1).fill(0),
      sumMs: 0,
      count: 0,
    },
  };
}

async function readPem(
  service: string,
  field: string,
  path: string | undefined,
): Promise<Buffer | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `egress.services.${service}.tls.${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code}); fix the path or remove the key`,
      { cause: err },
    );
  }
}

/**
 * Builds every service of the settings, reading their TLS files first: nothing is opened when
 * one cannot be read. Counters carry over from `prior` by name, so a reload does not reset them.
 */
export async function buildServices(
  list: readonly EgressServiceSettings[],
  prior: ReadonlyMap<string, Service>,
  log: Logger,
  lookup: LookupFunction = dnsLookup,
): Promise<Map<string, Service>> {
  const tls = await Promise.all(
    list.map(async (s): Promise<TlsMaterial> => {
      const [ca, cert, key] = await Promise.all([
        readPem(s.name, 'ca', s.tls.ca),
        readPem(s.name, 'cert', s.tls.cert),
        readPem(s.name, 'key', s.tls.key),
      ]);
      try {
        // Checked now, so a wrong pair or a file that is no PEM fails the start or the reload,
        // not every request later.
        // A CA bundle with no certificate in it is accepted by OpenSSL and trusts nothing.
        if (ca) new X509Certificate(ca);
        createSecureContext({
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
        });
      } catch (err) {
        const mismatch = /mismatch/i.test(String((err as Error).message));
        throw new PillionError(
          mismatch ? ErrorCode.TLS_KEY_MISMATCH : ErrorCode.TLS_FILE_UNREADABLE,
          `egress.services.${s.name}.tls: ${mismatch ? 'the key is not the private key of the cert' : `cannot use the PEM files (${(err as Error).message})`}; give the matching PEM files`,
          { cause: err },
        );
      }
      return {
        ...(ca ? { ca } : {}),
        ...(cert ? { cert } : {}),
        ...(key ? { key } : {}),
        ...(s.tls.servername ? { servername: s.tls.servername } : {}),
        verify: s.tls.verify,
      };
    }),
  );
  const out = new Map<string, Service>();
  list.forEach((s, i) => {
    const stats = prior.get(s.name)?.stats ?? emptyStats();
    out.set(s.name, new Service(s, tls[i] as TlsMaterial, stats, log, lookup));
  });
  return out;
}
