// Starts the egress concern in this process from pillion.yaml text (resolved as `pillion run`
// resolves it), and collects its access lines and log events.
import type { LookupFunction } from 'node:net';
import { Writable } from 'node:stream';
import { resolveConfig } from '../../src/config/resolve.ts';
import type { EgressSettings } from '../../src/config/settings-egress.ts';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { Egress } from '../../src/egress/index.ts';
import type { AccessEntry } from '../../src/logs/access-log.ts';

export interface Running {
  egress: Egress;
  url: string;
  access: AccessEntry[];
  events: Record<string, unknown>[];
  stop(): Promise<void>;
}

export function egressSettings(yaml: string, cwd: string): EgressSettings {
  return resolveConfig({ file: 'pillion.yaml', text: yaml, cwd, env: {} }).settings.egress;
}

export async function startEgress(
  yaml: string,
  cwd: string,
  opts: { lookup?: LookupFunction } = {},
): Promise<Running> {
  const access: AccessEntry[] = [];
  const events: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _e, cb) {
      for (const line of String(chunk).split('\n')) if (line) events.push(JSON.parse(line));
      cb();
    },
  });
  const egress = new Egress({
    settings: egressSettings(yaml, cwd),
    accessLog: (e) => access.push(e),
    log: new Logger(new LogOutput(sink), 'egress'),
    ...(opts.lookup ? { lookup: opts.lookup } : {}),
  });
  await egress.start();
  return {
    egress,
    url: egress.url as string,
    access,
    events,
    stop: () => egress.stop(AbortSignal.timeout(2000)),
  };
}

/** The egress section for services given as YAML lines under `services:`. */
export function config(services: string): string {
  return `egress:\n  listen: 127.0.0.1:0\n  services:\n${services.replace(/^/gm, '    ')}\n`;
}
