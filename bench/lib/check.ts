// What each run checks before it measures: the TLS the contender negotiates (version, cipher,
// key exchange group, certificate type, ALPN), that the case's request gets a 200 with the
// expected body size, and, for HTTP/2 cases, that ALPN picks h2.
import { connect as h2connect } from 'node:http2';
import { request } from 'node:https';
import { connect } from 'node:tls';

export interface TlsInfo {
  protocol: string;
  cipher: string;
  group: string;
  cert: string;
  alpn: string;
}

/** One TLS handshake offering h2 and http/1.1; what the server chose. */
export function tlsProbe(port: number): Promise<TlsInfo> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    s.setTimeout(5000, () => s.destroy(new Error('TLS probe timed out')));
    s.once('error', reject);
    s.once('secureConnect', () => {
      const key = s.getEphemeralKeyInfo() as { name?: string; type?: string } | null;
      const peer = s.getPeerCertificate() as {
        asn1Curve?: string;
        bits?: number;
        modulus?: string;
      };
      const info: TlsInfo = {
        protocol: s.getProtocol() ?? '?',
        cipher: s.getCipher().name,
        group: key?.name ?? key?.type ?? '?',
        cert: peer.asn1Curve ? `EC ${peer.asn1Curve}` : peer.modulus ? `RSA ${peer.bits}` : '?',
        alpn: s.alpnProtocol || 'none',
      };
      s.end();
      resolve(info);
    });
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
