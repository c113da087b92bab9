// The histograms of /metrics and of the OTLP export, from counts their concerns keep in fixed
// buckets: request latency by protocol, and egress call latency by service.
import type { Snapshot } from './exposition.ts';
import { LATENCY_BUCKETS, PROTOCOLS } from './requests.ts';

/** One histogram series: non-cumulative counts (+Inf last) over bounds in seconds. */
export interface HistogramSeries {
  labels: Record<string, string>;
  boundsS: readonly number[];
  counts: readonly number[];
  sumS: number;
}

/** The egress latency histogram's series, one per service that has answered. */
export function egressLatency(s: Snapshot): HistogramSeries[] {
  const out: HistogramSeries[] = [];
  for (const [service, f] of Object.entries(s.egress)) {
    const l = f.latency;
    if (l.count === 0) continue;
    out.push({
      labels: { service },
      boundsS: l.bucketsMs.map((b) => b / 1000),
      counts: l.counts,
      sumS: l.sumMs / 1000,
    });
  }
  return out;
}

/** The latency histogram of a snapshot, by protocol: non-cumulative counts (+Inf last) and sums. */
function latencyByProtocol(s: Snapshot): HistogramSeries[] {
  const n = LATENCY_BUCKETS.length + 1;
  const out: HistogramSeries[] = [];
  for (let p = 0; p < PROTOCOLS.length; p++) {
    const counts = s.requests.latency.slice(p * n, p * n + n);
    if (counts.every((c) => c === 0)) continue;
    out.push({
      labels: { protocol: PROTOCOLS[p] },
      boundsS: LATENCY_BUCKETS,
      counts,
      sumS: s.requests.latencySumMs[p] / 1000,
    });
  }
  return out;
}

/** Every histogram, for the text and for OTLP. */
export const HISTOGRAMS: {
  name: string;
  help: string;
  series: (s: Snapshot) => HistogramSeries[];
}[] = [
  {
    name: 'pillion_request_duration_seconds',
    help: 'Time from the request head to the end of the response, by protocol.',
    series: latencyByProtocol,
  },
  {
    name: 'pillion_egress_request_duration_seconds',
    help: "Time from an egress request's head to the end of its answer, retries included, by service.",
    series: egressLatency,
  },
];

/**
 * A histogram as prom-client's registry prints it, from counts kept elsewhere: its Histogram
 * can only be fed one observation at a time, so this object hands the registry the values.
 */
export function histogramMetric(
  name: string,
  help: string,
  read: () => HistogramSeries[],
): { name: string; type: 'histogram'; get: () => Promise<unknown>; reset: () => void } {
  const get = async () => {
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] =
      [];
    for (const h of read()) {
      let acc = 0;
      for (let b = 0; b < h.counts.length; b++) {
        acc += h.counts[b] as number;
        const le = b < h.boundsS.length ? (h.boundsS[b] as number) : '+Inf';
        values.push({ labels: { ...h.labels, le }, value: acc, metricName: `${name}_bucket` });
      }
      values.push({ labels: h.labels, value: h.sumS, metricName: `${name}_sum` });
      values.push({ labels: h.labels, value: acc, metricName: `${name}_count` });
    }
    return { name, help, type: 'histogram', values, aggregator: 'sum' };
  };
  return { name, type: 'histogram', get, reset: () => {} };
}
