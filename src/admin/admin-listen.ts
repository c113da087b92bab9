// Binding the admin and probe listeners: TCP `HOST:PORT` or `unix:/path` (made 0600), plain
// HTTP or HTTPS. A socket file left by a Pillion that died is replaced; a live one is not.
import { chmodSync, existsSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';

/** Where a listener ended up: a TCP address, or a Unix socket's path. */
export type Bound = { host: string; port: number } | { path: string };

/** `unix:/p` → {path}; `[::1]:0` → {host: '::1', port: 0}. */
export function parseListen(listen: string): { host: string; port: number } | { path: string } {
  if (listen.startsWith('unix:')) return { path: listen.slice(5) };
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}

/** `127.0.0.1:14000`, `[::1]:14000` or `unix:/path`, as the serving line and the API show it. */
export function formatBound(b: Bound): string {
  if ('path' in b) return `unix:${b.path}`;
  return b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`;
}

/** Binds `server`; rejects with the system's error (EADDRINUSE, EACCES) and leaves nothing bound. */
export async function bind(server: Server, listen: string): Promise<Bound> {
  const at = parseListen(listen);
  if ('path' in at && existsSync(at.path) && !(await answers(at.path)))
    rmSync(at.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = (): void => {
      server.off('error', reject);
      resolve();
    };
    if ('path' in at) server.listen(at.path, done);
    else server.listen(at.port, at.host, done);
  });
  if ('path' in at) {
    // Only Pillion's user may talk to it: the socket's mode is its access control.
    chmodSync(at.path, 0o600);
    return at;
  }
  const addr = server.address();
  return typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : at;
}

/** True when something accepts connections on the Unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
