// The /metrics families of counters other concerns keep: the egress port's, per service, and
// the TLS terminator's. Both are read from the snapshot at scrape time; the data path pays
// nothing for them. Service names come from the config, so the `service` label is bounded.
import type { Def, Snapshot, Values } from './exposition.ts';

/** One egress service's counters since start (the egress concern's ServiceStats). */
export interface EgressFigures {
  requests: number;
  /** Answers by class, `2xx` … `5xx`, Pillion's own (404, 502, 504) included. */
  responses: Record<string, number>;
  retries: number;
  /** Retries the budget refused. */
  budgetExhausted: number;
  timeouts: number;
  ejections: number;
  openConnections: number;
  /** Non-cumulative counts, one per bound and one past the last. */
  latency: { bucketsMs: readonly number[]; counts: number[]; sumMs: number; count: number };
}

/** The TLS terminator's counters; undefined with workers (each has its own terminator). */
export interface TlsFigures {
  reloads: number;
  reloadFailures: number;
  sniErrors: number;
  ticketKeyRotations: number;
}

const perService =
  (pick: (f: EgressFigures) => number) =>
  (s: Snapshot): Values =>
    Object.entries(s.egress).map(([service, f]) => [{ service }, pick(f)]);

const tls =
  (pick: (f: TlsFigures) => number) =>
  (s: Snapshot): Values =>
    s.tls ? [[{}, pick(s.tls)]] : [];

export const EGRESS_TLS_DEFS: Def[] = [
  {
    name: 'pillion_egress_requests_total',
    help: "Egress requests answered to the app, by service and status class (Pillion's own 502/504 included).",
    type: 'counter',
    labels: ['service', 'code_class'],
    values: (s) => {
      const out: Values = [];
      for (const [service, f] of Object.entries(s.egress))
        for (const [code_class, n] of Object.entries(f.responses))
          out.push([{ service, code_class }, n]);
      return out;
    },
  },
  {
    name: 'pillion_egress_retries_total',
    help: 'Egress attempts tried again (after a failed connection or a retryable status), by service.',
    type: 'counter',
    labels: ['service'],
    values: perService((f) => f.retries),
  },
  {
    name: 'pillion_egress_retries_refused_total',
    help: 'Egress retries the retry budget refused, by service.',
    type: 'counter',
    labels: ['service'],
    values: perService((f) => f.budgetExhausted),
  },
  {
    name: 'pillion_egress_timeouts_total',
    help: 'Egress requests answered 504 because the service did not answer in time, by service.',
    type: 'counter',
    labels: ['service'],
    values: perService((f) => f.timeouts),
  },
  {
    name: 'pillion_egress_ejections_total',
    help: 'Endpoints ejected by passive outlier detection, by service.',
    type: 'counter',
    labels: ['service'],
    values: perService((f) => f.ejections),
  },
  {
    name: 'pillion_egress_open_connections',
    help: 'Connections open now to the endpoints of each service.',
    type: 'gauge',
    labels: ['service'],
    values: perService((f) => f.openConnections),
  },
  {
    name: 'pillion_tls_certificate_reloads_total',
    help: 'Serving certificate sets put in force (ok) or whose files could not be served (failed).',
    type: 'counter',
    labels: ['result'],
    values: (s) =>
      s.tls
        ? [
            [{ result: 'ok' }, s.tls.reloads],
            [{ result: 'failed' }, s.tls.reloadFailures],
          ]
        : [],
  },
  {
    name: 'pillion_tls_sni_errors_total',
    help: 'SNI lookups that failed (answered with the default certificate).',
    type: 'counter',
    values: tls((f) => f.sniErrors),
  },
  {
    name: 'pillion_tls_ticket_key_rotations_total',
    help: 'TLS session ticket keys rotated.',
    type: 'counter',
    values: tls((f) => f.ticketKeyRotations),
  },
];
