// The load generators, one thread each, run on the harness's core (children inherit its
// pinning): wrk for HTTP/1.1 and h2load for HTTP/2. Every run is bounded twice: by the tool's
// own duration (-d / -D) and by an outer timeout that SIGKILLs it. Only 127.0.0.1 is targeted.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { track } from './spawn.ts';

export interface LoadResult {
  requests: number;
  seconds: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  /** Latency percentiles in µs: wrk from request write to response (no connect or handshake
   * time, closed loop); h2load per request from its log. */
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** wrk only: connections that finished a TLS handshake, and how many of those resumed. */
  tls?: { connections: number; resumed: number };
  /** h2load only: the protocol ALPN chose. */
  alpn?: string;
  /** Set when the tool did not produce its summary. */
  failed?: string;
}

/** How long past its duration a load tool may run before it is killed. A measured run gets
 * room for a slow exit on a busy machine; a warm-up, whose figures are thrown away, does not. */
export const GUARD_S = { measured: 10, warmup: 3 };

/** The prefix of `failed` when the tool had to be killed: the server left it waiting. */
export const HUNG = 'hung:';

function exec(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  seconds: number,
  guardS: number,
): Promise<{ out: string; err?: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env, timeout: (seconds + guardS) * 1000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 },
      (error, stdout, stderr) =>
        resolve({
          out: `${stdout}\n${stderr}`,
          err: error
            ? error.killed
              ? `${HUNG} ${cmd} had not exited ${guardS} s after its ${seconds} s duration (killed): the server left it waiting`
              : `${cmd} exited ${error.code ?? error.signal}`
            : undefined,
        }),
    );
    track(child);
  });
}

function emptyResult(failed: string): LoadResult {
  const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
  return {
    requests: 0,
    seconds: 0,
    bytes: 0,
    errors,
    p50Us: 0,
    p90Us: 0,
    p99Us: 0,
    p999Us: 0,
    maxUs: 0,
    failed,
  };
}

export interface WrkOptions {
  url: string;
  connections: number;
  seconds: number;
  /** `Connection: close` on every request: a new TCP and TLS connection each time. */
  close: boolean;
  /** With `close`: forbid TLS resumption, so every handshake is a full one. */
  fullHandshake: boolean;
  postBytes?: number;
  noresume: string;
  script: string;
  guardS: number;
}

export async function wrk(o: WrkOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${o.connections}`, `-d${Math.max(1, Math.round(o.seconds))}s`];
  args.push('--timeout', '5s', '-s', o.script);
  if (o.close) args.push('-H', 'Connection: close');
  args.push(o.url);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LD_PRELOAD: o.noresume,
    PILLION_BENCH_NORESUME: o.fullHandshake ? '1' : '0',
  };
  if (o.postBytes) env.PILLION_BENCH_POST_BYTES = String(o.postBytes);
  const { out, err } = await exec('wrk', args, env, o.seconds, o.guardS);
  const line = /^WRK-JSON (.*)$/m.exec(out)?.[1];
  if (!line)
    return emptyResult(
      err?.startsWith(HUNG) ? err : `wrk: ${err ?? 'no summary'}: ${out.trim().slice(-300)}`,
    );
  const j = JSON.parse(line) as Record<string, number>;
  const tls = /TLS-RESUMED connections=(\d+) resumed=(\d+)/.exec(out);
  return {
    requests: j.requests,
    seconds: j.duration_us / 1e6,
    bytes: j.bytes,
    errors: {
      connect: j.err_connect,
      read: j.err_read,
      write: j.err_write,
      status: j.err_status,
      timeout: j.err_timeout,
    },
    p50Us: j.p50_us,
    p90Us: j.p90_us,
    p99Us: j.p99_us,
    p999Us: j.p999_us,
    maxUs: j.max_us,
    tls: tls ? { connections: Number(tls[1]), resumed: Number(tls[2]) } : undefined,
  };
}

export interface H2loadOptions {
  url: string;
  connections: number;
  streams: number;
  seconds: number;
  logFile: string;
  guardS: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))];
}

/**
 * Latency percentiles in µs from an h2load `--log-file` (one request per line, its time in the
 * third column), which is removed after; all 0 when there is no log.
 */
export function h2loadLatency(
  logFile: string,
): Pick<LoadResult, 'p50Us' | 'p90Us' | 'p99Us' | 'p999Us' | 'maxUs'> {
  let lat = new Float64Array(0);
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n');
    lat = new Float64Array(lines.length);
    let n = 0;
    for (const l of lines) {
      const us = Number(l.split('\t')[2]);
      if (l !== '' && Number.isFinite(us)) lat[n++] = us;
    }
    lat = lat.subarray(0, n).sort();
  } catch {
    // no log: latency stays 0 and the report shows it
  } finally {
    rmSync(logFile, { force: true });
  }
  return {
    p50Us: percentile(lat, 0.5),
    p90Us: percentile(lat, 0.9),
    p99Us: percentile(lat, 0.99),
    p999Us: percentile(lat, 0.999),
    maxUs: lat.length ? lat[lat.length - 1] : 0,
  };
}

export async function h2load(o: H2loadOptions): Promise<LoadResult> {
  const args = ['-t1', `-c${o.connections}`, `-m${o.streams}`, `-D${o.seconds}`];
  args.push(`--log-file=${o.logFile}`, o.url);
  const { out, err } = await exec('h2load', args, process.env, o.seconds, o.guardS);
  const fin = /finished in ([\d.]+)(m?s)/.exec(out);
  const req =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(
      out,
    );
  if (!fin || !req) {
    rmSync(o.logFile, { force: true });
    return emptyResult(
      err?.startsWith(HUNG) ? err : `h2load: ${err ?? 'no summary'}: ${out.trim().slice(-300)}`,
    );
  }
  const lat = h2loadLatency(o.logFile);
  const bytes = /traffic: [\d.]+\w* \((\d+)\) total/.exec(out);
  return {
    requests: Number(req[1]),
    seconds: Number(fin[1]) / (fin[2] === 'ms' ? 1000 : 1),
    bytes: Number(bytes?.[1] ?? 0),
    errors: {
      connect: 0,
      // h2load's "failed" includes "errored" (failures below HTTP) and non-2xx answers.
      read: Number(req[3]),
      write: 0,
      status: Math.max(0, Number(req[2]) - Number(req[3])),
      timeout: Number(req[4]),
    },
    ...lat,
    alpn: /Application protocol: (\S+)/.exec(out)?.[1],
  };
}

export function errorCount(r: LoadResult): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}
