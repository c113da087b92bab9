// What each run checks before it measures: the TLS the contender negotiates (version, cipher,
// key exchange group, certificate type, ALPN), that the case's request gets a 200 with the
// expected body size, and, for HTTP/2 cases, that ALPN picks h2.
import { execFile } from 'node:child_process';
import { connect as h2connect } from 'node:http2';
import { request } from 'node:https';

export interface TlsInfo {
  protocol: string;
  cipher: string;
  group: string;
  cert: string;
  alpn: string;
}

/** One handshake by the system OpenSSL (the library wrk and h2load use, so the key exchange
 * group is the one the load saw), offering h2 and http/1.1: what the server chose. */
export function tlsProbe(port: number): Promise<TlsInfo> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-alpn', 'h2,http/1.1'],
      { timeout: 5000, killSignal: 'SIGKILL' },
      (_error, stdout, stderr) => {
        const out = `${stdout}\n${stderr}`;
        const session = /New, (\S+), Cipher is (\S+)/.exec(out);
        if (!session) {
          reject(new Error(`no TLS session: ${out.trim().slice(-200)}`));
          return;
        }
        const sig = /Peer signature type: (\S+)/.exec(out)?.[1] ?? '?';
        const bits = /Server public key is (\d+) bit/.exec(out)?.[1] ?? '?';
        resolve({
          protocol: session[1],
          cipher: session[2],
          group: /Server Temp Key: ([^,\n]+)/.exec(out)?.[1] ?? '?',
          cert: `${sig} ${bits}`,
          alpn: /ALPN protocol: (\S+)/.exec(out)?.[1] ?? 'none',
        });
      },
    );
    child.stdin?.end();
  });
}

/** An HTTP/1.1 request on a fresh connection: status and body bytes. */
export function h1Fetch(
  port: number,
  path: string,
  postBytes?: number,
): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: postBytes ? 'POST' : 'GET',
        rejectUnauthorized: false,
        agent: false,
        headers: postBytes ? { 'content-length': String(postBytes) } : {},
      },
      (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => {
          bytes += d.length;
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
        res.once('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)));
    req.once('error', reject);
    req.end(postBytes ? Buffer.alloc(postBytes, 'x') : undefined);
  });
}

/** An HTTP/2 GET: status and body bytes (ALPN must have chosen h2 for this to work). */
export function h2Fetch(port: number, path: string): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    session.once('error', reject);
    const timer = setTimeout(() => session.destroy(new Error('h2 GET timed out')), 10_000);
    const stream = session.request({ ':path': path });
    let status = 0;
    let bytes = 0;
    stream.once('response', (h) => {
      status = Number(h[':status']);
    });
    stream.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    stream.once('end', () => {
      clearTimeout(timer);
      session.close();
      resolve({ status, bytes });
    });
    stream.once('error', reject);
  });
}

/** Undefined when the contender answers the case as expected, else what is wrong. */
export async function verify(
  port: number,
  c: { path: string; bodyBytes: number; postBytes?: number; tool: string },
): Promise<string | undefined> {
  const r =
    c.tool === 'h2load' ? await h2Fetch(port, c.path) : await h1Fetch(port, c.path, c.postBytes);
  if (r.status !== 200 || r.bytes !== c.bodyBytes) {
    return `${c.postBytes ? 'POST' : 'GET'} ${c.path}: status ${r.status}, ${r.bytes} body bytes (expected 200, ${c.bodyBytes})`;
  }
  return undefined;
}
