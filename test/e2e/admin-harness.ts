// Helpers for tests that talk to a running Pillion's admin listener and drive its dashboard.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AdminAt, type AdminReply, adminRequest } from './admin-client.ts';
import type { Pillion } from './harness.ts';

/** Where the dashboard test leaves its screenshot (git-ignored; CI keeps it as an artifact). */
export const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url));

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The admin listener's address as Pillion logged it once bound: `127.0.0.1:40123` or `unix:/path`. */
export async function adminAddress(p: Pillion): Promise<string> {
  const l = await p.waitForLog(
    (l) => l.msg === 'admin listening' && 'admin' in l,
    'admin listening',
  );
  return String(l.admin);
}

export type { AdminReply };

/** One plain HTTP request to the admin listener (`HOST:PORT` or `unix:/path`), no token added. */
export function adminHttp(
  address: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<AdminReply> {
  const at: AdminAt = address.startsWith('unix:')
    ? { socketPath: address.slice(5), token: '' }
    : {
        host: address.slice(0, address.lastIndexOf(':')),
        port: Number(address.slice(address.lastIndexOf(':') + 1)),
        token: '',
      };
  return adminRequest(at, path, { ...opts, auth: false });
}

/** The admin API's status, read with the token. */
export async function adminStatus(address: string, token: string) {
  const r = await adminHttp(address, '/api/v1/status', {
    headers: { authorization: `Bearer ${token}` },
  });
  if (r.status !== 200) throw new Error(`/api/v1/status answered ${r.status}: ${r.body}`);
  return JSON.parse(r.body) as {
    app: { pid: number | null; state: string; restarts: number };
    ready: boolean;
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
