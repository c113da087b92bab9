import type { LogOutput } from '../core/log.ts';

/** What ingress knows about one finished request. */
export interface AccessEntry {
  method: string;
  path: string;
  status: number;
  durationMs: number;
  bytes: number;
  protocol: string;
  remote: string;
  requestId: string;
  error?: string;
}

export type AccessLog = (entry: AccessEntry) => void;

/** One JSON line per request, in the shape documented in docs/logs.md. */
export function createAccessLog(out: LogOutput): AccessLog {
  const pid = process.pid;
  return (e) => {
    const line = {
      time: new Date().toISOString(),
      level: e.status >= 500 ? 'error' : 'info',
      source: 'access',
      pid,
      msg: `${e.method} ${e.path} ${e.status}`,
      method: e.method,
      path: e.path,
      status: e.status,
      duration_ms: Math.round(e.durationMs * 1000) / 1000,
      bytes: e.bytes,
      protocol: e.protocol,
      remote: e.remote,
      request_id: e.requestId,
      ...(e.error ? { error: e.error } : {}),
    };
    out.write(`${JSON.stringify(line)}\n`);
  };
}
