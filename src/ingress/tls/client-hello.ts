// What a ClientHello says about the certificates the client can take, read from the first
// bytes before the TLS server sees them. Needed because after an SNI switch Node serves only
// one of a context's pairs (its `UseSNIContext` sets the context's last certificate alone),
// so a name with RSA and ECDSA pairs gets a context per key type, chosen from this.
const ECDSA_SUITES = new Set([0xc02b, 0xc02c, 0xcca9, 0xc009, 0xc00a, 0xc023, 0xc024]);

/**
 * True when the client can verify an ECDSA certificate: it lists an ECDSA signature scheme
 * (RFC 8446 §4.2.3) and, below TLS 1.3, offers an ECDHE-ECDSA suite. A hello cut short or
 * malformed says true: clients that send large hellos (post-quantum key shares) are modern.
 */
export function takesEcdsa(buf: Buffer): boolean {
  try {
    // Record header (5), handshake header (4), version (2), random (32).
    if (buf[0] !== 0x16 || buf[5] !== 0x01) return true;
    let at = 5 + 4 + 2 + 32;
    at += 1 + (buf[at] as number);
    const suitesLen = buf.readUInt16BE(at);
    at += 2;
    let ecdsaSuite = false;
    for (let i = 0; i < suitesLen; i += 2)
      if (ECDSA_SUITES.has(buf.readUInt16BE(at + i))) ecdsaSuite = true;
    at += suitesLen;
    at += 1 + (buf[at] as number);
    const end = at + 2 + buf.readUInt16BE(at);
    at += 2;
    if (end > buf.length) return true;
    let sigalgs: boolean | undefined;
    let tls13 = false;
    while (at + 4 <= end) {
      const type = buf.readUInt16BE(at);
      const len = buf.readUInt16BE(at + 2);
      const body = at + 4;
      if (type === 0x000d) {
        sigalgs = false;
        const n = buf.readUInt16BE(body);
        for (let i = 0; i < n; i += 2) {
          const hi = buf[body + 2 + i] as number;
          const lo = buf[body + 3 + i] as number;
          if (lo === 0x03 && hi >= 0x02 && hi <= 0x06) sigalgs = true;
        }
      } else if (type === 0x002b) {
        const n = buf[body] as number;
        for (let i = 0; i < n; i += 2) if (buf.readUInt16BE(body + 1 + i) === 0x0304) tls13 = true;
      }
      at = body + len;
    }
    // No signature_algorithms (TLS 1.2, RFC 5246 §7.4.1.4.1): the suites decide.
    return (sigalgs ?? true) && (tls13 || ecdsaSuite);
  } catch {
    return true;
  }
}
