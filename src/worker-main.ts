// A data-path worker process (ingress.workers > 1): one Ingress on the shared port with
// SO_REUSEPORT, the supervisor's state mirrored from the primary over IPC (workers/child.ts),
// its log and access lines written to a pipe the primary reads and writes through its sinks. Started by workers/index.ts.

import { PillionError } from './core/errors.ts';
import { type Level, Logger } from './core/log.ts';
import { Ingress } from './ingress/index.ts';
import type { EdgeLimits } from './ingress/limits.ts';
import { ClientAuth, type ClientAuthSettings } from './ingress/tls/client-auth.ts';
import type { TlsMaterial } from './ingress/tls-context.ts';
import type { AccessLog } from './logs/access-log.ts';
import { type AccessLogOptions, createAccessLog } from './logs/access-log.ts';
import { BatchedLogOutput, ReadyMirror, type SendToPrimary } from './workers/child.ts';
import type { ToWorker, WorkerInit } from './workers/protocol.ts';

/** What the Sidecar passes through the pool to each worker's Ingress (`WorkerInit.ingress`). */
export interface WorkerIngress {
  tls: TlsMaterial;
  limits?: Partial<EdgeLimits>;
  access?: Partial<AccessLogOptions>;
  /** `logs.level` at start: the least level of the worker's own lines. */
  level?: Level;
  /** `app.protocol`: HTTP/1.1 to the app, or cleartext HTTP/2. */
  appProtocol?: 'http1' | 'h2c';
  /** mTLS: the policy and the CA bundle read by the primary at start. */
  clientAuth?: { settings: ClientAuthSettings; caPem: string };
}

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
  const accessLog: AccessLog = createAccessLog(out, { ...opts.access, worker: init.id });
  const ingress = new Ingress({
    host: init.host,
    port: init.port,
    reusePort: true,
    tls: opts.tls,
    log,
    upstream: () => mirror.upstream(),
    whenReady: (ms) => mirror.whenReady(ms),
    notReadyReason: () => mirror.notReadyReason(),
    get readyTimeoutMs() {
      return mirror.readyTimeoutMs;
    },
    accessLog,
    limits: opts.limits,
    appProtocol: opts.appProtocol,
    clientAuth: opts.clientAuth
      ? new ClientAuth(opts.clientAuth.settings, opts.clientAuth.caPem)
      : undefined,
  });
  // Aborted by the primary when its drain deadline passes.
  const drain = new AbortController();
  process.on('message', (msg: ToWorker) => {
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
        });
        return;
      case 'abort':
        drain.abort();
        return;
      case 'stop':
        void ingress.stop(drain.signal).then(() => {
          out.flushNow();
          process.send?.({ t: 'stopped' }, () => process.exit(0));
        });
        return;
    }
  });
  try {
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
}
