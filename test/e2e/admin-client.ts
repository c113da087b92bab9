// Talks to a running Pillion's admin listener (TCP or Unix socket) and reads /metrics as the
// Prometheus text format and OpenMetrics, strictly, for end-to-end tests.
import assert from 'node:assert/strict';
import { request } from 'node:http';

export interface AdminAt {
  host?: string;
  port?: number;
  socketPath?: string;
  token: string;
}

export interface AdminReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request to the admin listener; the token is sent unless `auth` is false. */
export function adminRequest(
  at: AdminAt,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; auth?: boolean } = {},
): Promise<AdminReply> {
  const host = at.socketPath ? 'localhost' : `${at.host}:${at.port}`;
  const headers: Record<string, string> = {
    host,
    ...(opts.auth === false ? {} : { authorization: `Bearer ${at.token}` }),
    ...opts.headers,
  };
  return new Promise((resolve, reject) => {
    const req = request(
      at.socketPath
        ? { socketPath: at.socketPath, path, method: opts.method ?? 'GET', headers, agent: false }
        : {
            host: at.host,
            port: at.port,
            path,
            method: opts.method ?? 'GET',
            headers,
            agent: false,
          },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * A streaming read (the log stream) with the token: collects the body as it arrives, until
 * the listener ends it or `close()`; `opened` resolves with the status once the head is in.
 */
export function adminStream(
  at: AdminAt,
  path: string,
): { opened: Promise<number>; received: () => string; close: () => void } {
  let body = '';
  const host = at.socketPath ? 'localhost' : `${at.host}:${at.port}`;
  const headers = { host, authorization: `Bearer ${at.token}` };
  const req = request(
    at.socketPath
      ? { socketPath: at.socketPath, path, headers, agent: false }
      : { host: at.host, port: at.port, path, headers, agent: false },
  );
  const opened = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (c) => {
        body += c;
      });
      // Ended by Pillion's stop: what came until then is what counts.
      res.on('error', () => {});
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
  req.end();
  return { opened, received: () => body, close: () => req.destroy() };
}

/** GET a JSON endpoint with the token; asserts a 200. */
export async function adminJson<T = Record<string, unknown>>(
  at: AdminAt,
  path: string,
): Promise<T> {
  const r = await adminRequest(at, path);
  assert.equal(r.status, 200, `${path}: ${r.body}`);
  return JSON.parse(r.body) as T;
}

/** POSTs an action with the token and the CSRF header. */
export async function adminAction(at: AdminAt, action: string): Promise<AdminReply> {
  const { csrf } = await adminJson<{ csrf: string }>(at, '/api/v1/csrf');
  return adminRequest(at, `/api/v1/${action}`, {
    method: 'POST',
    headers: { 'x-pillion-csrf': csrf },
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A scrape, parsed: its samples and each family's TYPE. */
export interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
  /** The value of `name` with exactly these labels (a subset match when `partial`), 0 if absent. */
  value(name: string, labels?: Record<string, string>): number;
  /** The sum over every sample of `name` whose labels include `labels`. */
  sum(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses the Prometheus text format 0.0.4 or OpenMetrics 1.0.0; throws on any line that is
 * neither a comment nor a sample, and (OpenMetrics) when `# EOF` is not the last line.
 */
export function parseMetrics(text: string, openMetrics = false): Scrape {
  const lines = text.split('\n');
  assert.equal(lines.at(-1), '', 'the exposition ends with a newline');
  lines.pop();
  if (openMetrics) {
    assert.equal(lines.at(-1), '# EOF', 'OpenMetrics ends with # EOF');
    lines.pop();
  }
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of lines) {
    if (line === '') {
      assert.ok(!openMetrics, 'OpenMetrics has no blank lines');
      continue;
    }
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
      assert.ok(m, `a comment line of the format: ${line}`);
      if (m[1] === 'TYPE') types.set(m[2], m[3]);
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  const has = (s: Sample, labels: Record<string, string>): boolean =>
    Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    samples,
    types,
    value: (name, labels = {}) =>
      samples.find(
        (s) =>
          s.name === name &&
          has(s, labels) &&
          Object.keys(s.labels).length === Object.keys(labels).length,
      )?.value ?? 0,
    sum: (name, labels = {}) =>
      samples.filter((s) => s.name === name && has(s, labels)).reduce((n, s) => n + s.value, 0),
  };
}

/** Scrapes /metrics (no token), as Prometheus text or, asked by Accept, OpenMetrics. */
export async function scrape(at: AdminAt, openMetrics = false): Promise<Scrape> {
  const r = await adminRequest(at, '/metrics', {
    auth: false,
    headers: openMetrics
      ? { accept: 'application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5' }
      : {},
  });
  assert.equal(r.status, 200);
  assert.match(
    String(r.headers['content-type']),
    openMetrics
      ? /^application\/openmetrics-text; version=1\.0\.0/
      : /^text\/plain; version=0\.0\.4/,
  );
  return parseMetrics(r.body, openMetrics);
}
