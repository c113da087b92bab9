// A data-path worker process (ingress.workers > 1): one Ingress on the shared port with
// SO_REUSEPORT, the supervisor's state mirrored from the primary over IPC (workers/child.ts),
// its log and access lines written to a pipe the primary reads and writes through its sinks. Started by workers/index.ts.

import type { TlsSettings } from './config/settings.ts';
import { PillionError } from './core/errors.ts';
import { type Level, Logger } from './core/log.ts';
import { Ingress } from './ingress/index.ts';
import type { EdgeLimits } from './ingress/limits.ts';
import { wakeMemoryReducerAfterStart } from './ingress/memory-relief.ts';
import { loadTlsMaterial } from './ingress/tls/material.ts';
import type { AccessLog } from './logs/access-log.ts';
import { type AccessLogOptions, createAccessLog } from './logs/access-log.ts';
import { RequestCounters } from './metrics/requests.ts';
import { traceOf } from './metrics/trace-context.ts';
import { BatchedLogOutput, ReadyMirror, type SendToPrimary } from './workers/child.ts';
import type { ToWorker, WorkerInit } from './workers/protocol.ts';

/** What the Sidecar passes through the pool to each worker's Ingress (`WorkerInit.ingress`). */
export interface WorkerIngress {
  /** `ingress.tls` with the generated pair (if any) named: each worker reads and watches it. */
  tls: TlsSettings;
  stateDir: string;
  httpRedirect?: { host: string; port: number };
  limits?: Partial<EdgeLimits>;
  access?: Partial<AccessLogOptions>;
  /** `logs.level` at start: the least level of the worker's own lines. */
  level?: Level;
  /** `app.protocol`: HTTP/1.1 to the app, or cleartext HTTP/2. */
  appProtocol?: 'http1' | 'h2c';
  /** Keep request counters, sent to the primary with each `stats` answer. */
  metrics?: boolean;
  /** W3C trace context for the app (metrics/trace-context.ts). */
  traceparent?: boolean;
  /**
   * `telemetry.endpoint` with `traces` on: the worker exports its own spans to the collector
   * (metrics/otlp-export.ts), so no span crosses the IPC channel; the primary exports the metrics.
   */
  telemetry?: { endpoint: string; serviceName: string };
}

/** How long a stopping worker waits for its last spans to reach the collector. */
const SPAN_FLUSH_MS = 1000;

const send: SendToPrimary = (msg) => {
  process.send?.(msg);
};

// The primary coordinates drain and stop; a Ctrl-C reaches the whole process group, and a
// worker that stopped on its own would drop its connections before the drain began.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
// A primary that is gone (SIGKILL) leaves no one to write logs or stop the app: end too.
process.on('disconnect', () => process.exit(1));

process.once('message', (init: WorkerInit) => {
  void run(init);
});

async function run(init: WorkerInit): Promise<void> {
  const out = new BatchedLogOutput(process.stdout);
  // A worker that dies of an uncaught error still writes what it held (the pipe write is
  // synchronous on Linux).
  process.on('exit', () => out.flushNow());
  const opts = init.ingress as WorkerIngress;
  if (opts.level) out.minLevel = opts.level;
  const log = new Logger(out).child('ingress');
  const mirror = new ReadyMirror(init.state);
  // What the primary sends while the exporter is loaded and the certificates are read (its
  // first 'state' among them) is kept and handled, in order, once the ingress exists: a
  // message with no listener is lost.
  const early: ToWorker[] = [];
  const keep = (msg: ToWorker): void => {
    early.push(msg);
  };
  process.on('message', keep);
  const access: AccessLog = createAccessLog(out, { ...opts.access, worker: init.id });
  // The request counters, as the primary keeps them (sidecar.ts): summed there at each scrape.
  const counters = opts.metrics ? new RequestCounters() : undefined;
  // Spans: loaded only when configured, as in the primary (nothing OpenTelemetry otherwise).
  const tele = opts.telemetry;
  const spans = tele
    ? new (await import('./metrics/otlp-export.ts')).OtlpExporter({
        endpoint: tele.endpoint,
        serviceName: tele.serviceName,
        traces: true,
        metricsIntervalMs: 0,
        resource: { 'pillion.worker': String(init.id) },
        log: new Logger(out).child('otlp'),
      })
    : undefined;
  const accessLog: AccessLog =
    counters || spans
      ? (e) => {
          counters?.observe(e);
          spans?.span(e);
          access(e);
        }
      : access;
  let tls: Awaited<ReturnType<typeof loadTlsMaterial>>;
  try {
    tls = await loadTlsMaterial({ stateDir: opts.stateDir, tls: opts.tls });
  } catch (err) {
    out.flushNow();
    const code = err instanceof PillionError ? err.code : 'PILLION_INTERNAL';
    process.send?.({ t: 'failed', code, message: (err as Error).message }, () => process.exit(1));
    return;
  }
  const ingress = new Ingress({
    host: init.host,
    port: init.port,
    reusePort: true,
    tls,
    stateDir: opts.stateDir,
    ...(opts.httpRedirect ? { httpRedirect: opts.httpRedirect } : {}),
    log,
    upstream: () => mirror.upstream(),
    whenReady: (ms) => {
      if (counters) counters.held++;
      return mirror.whenReady(ms);
    },
    notReadyReason: () => mirror.notReadyReason(),
    get readyTimeoutMs() {
      return mirror.readyTimeoutMs;
    },
    accessLog,
    limits: opts.limits,
    appProtocol: opts.appProtocol,
    ...(opts.traceparent ? { trace: traceOf } : {}),
  });
  // Aborted by the primary when its drain deadline passes.
  const drain = new AbortController();
  const handle = (msg: ToWorker): void => {
    switch (msg.t) {
      case 'state':
        mirror.apply(msg);
        return;
      case 'quiesce':
        mirror.hold();
        void ingress.quiesce(msg.ms).then(() => send({ t: 'quiesced', seq: msg.seq }));
        return;
      case 'stats':
        send({
          t: 'stats',
          seq: msg.seq,
          openConnections: ingress.openConnections,
          inflight: ingress.inflight,
          rejections: ingress.rejections,
          ...(counters
            ? { metrics: { requests: counters.data(), connections: { ...ingress.counters } } }
            : {}),
        });
        return;
      case 'abort':
        drain.abort();
        return;
      case 'stop':
        void ingress
          .stop(drain.signal)
          .then(() =>
            spans?.stop(AbortSignal.any([drain.signal, AbortSignal.timeout(SPAN_FLUSH_MS)])),
          )
          .then(() => {
            out.flushNow();
            process.send?.({ t: 'stopped' }, () => process.exit(0));
          });
        return;
    }
  };
  process.off('message', keep);
  process.on('message', handle);
  for (const msg of early) handle(msg);
  try {
    await spans?.start();
    await ingress.start();
  } catch (err) {
    const e = err as Error;
    out.flushNow();
    const code = err instanceof PillionError ? err.code : 'PILLION_INTERNAL';
    process.send?.({ t: 'failed', code, message: e.message }, () => process.exit(1));
    return;
  }
  out.flushNow();
  send({ t: 'listening', port: ingress.address?.port ?? init.port });
  // As in the primary (sidecar.ts): the worker's start-up garbage is given back once idle.
  wakeMemoryReducerAfterStart();
}
