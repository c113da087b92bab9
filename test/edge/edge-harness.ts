// Starts the real Ingress in this process, in front of a spy app, on loopback with real TLS.
import { Writable } from 'node:stream';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { Ingress } from '../../src/ingress/index.ts';
import type { EdgeLimits } from '../../src/ingress/limits.ts';
import { loadTlsMaterial } from '../../src/ingress/tls/material.ts';
import type { AccessEntry } from '../../src/logs/access-log.ts';
import { tempDir } from '../e2e/harness.ts';
import { SpyApp } from './spy-app.ts';

export interface Edge {
  ingress: Ingress;
  port: number;
  spy: SpyApp;
  /** Pillion's own log lines, parsed. */
  events: Record<string, unknown>[];
  access: AccessEntry[];
  stop(): Promise<void>;
}

let tls: Awaited<ReturnType<typeof loadTlsMaterial>> | undefined;

/** Starts the ingress; the app is the spy, or whatever listens on `appPort` when given. */
export async function startEdge(
  limits?: Partial<EdgeLimits>,
  spy = new SpyApp(),
  appPort?: number,
): Promise<Edge> {
  tls ??= await loadTlsMaterial({ stateDir: tempDir() });
  if (!spy.port) await spy.start();
  const events: Record<string, unknown>[] = [];
  const out = new LogOutput(
    new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) events.push(JSON.parse(line));
        cb();
      },
    }),
  );
  const access: AccessEntry[] = [];
  const upstream = { host: '127.0.0.1', port: appPort ?? spy.port };
  const ingress = new Ingress({
    host: '127.0.0.1',
    port: 0,
    tls,
    log: new Logger(out, 'ingress'),
    upstream: () => upstream,
    whenReady: async () => upstream,
    readyTimeoutMs: 1000,
    accessLog: (e) => access.push(e),
    limits,
  });
  await ingress.start();
  return {
    ingress,
    port: ingress.address?.port ?? 0,
    spy,
    events,
    access,
    stop: async () => {
      await ingress.stop(AbortSignal.timeout(2000));
      await spy.stop();
    },
  };
}
