// Client certificates (mTLS): the CA bundle, `require` or `optional`, allow-lists by SAN type and
// subject, and the verified identity for the app. Decided once per connection, at
// `secureConnection`, before a byte of HTTP is read; a denied connection is closed there, so
// no request from it exists to carry an "authorized" flag.
import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import type { ClientAuthSettings } from '../../config/settings.ts';
import { ErrorCode, PillionError } from '../../core/errors.ts';
import type { ClientCertHeader } from '../../http/headers.ts';
import { type PeerNames, peerNames } from './peer-names.ts';

export type { ClientAuthSettings } from '../../config/settings.ts';

/** A connection's verdict: its identity header, or why it is closed. */
export type Admission =
  | { ok: true; clientCert: ClientCertHeader }
  | { ok: false; reason: string; fields: Record<string, string> };

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The CA bundle's certificates, checked: at least one, each a CA. Throws a PillionError naming the file. */
export async function readClientCa(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw unreadableCa(file, err);
  }
  return parseClientCa(text, file);
}

export function unreadableCa(file: string, err: unknown): PillionError {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return new PillionError(
    ErrorCode.TLS_CLIENT_CA_INVALID,
    `cannot read ${file} given to ingress.tls.client.ca (${code}); fix the path`,
    { cause: err },
  );
}

/** The bundle's certificates as one PEM text; throws unless there is one at least and each is a CA. */
export function parseClientCa(text: string, file: string): string {
  const pems = text.match(PEM_CERT) ?? [];
  if (pems.length === 0) {
    throw new PillionError(
      ErrorCode.TLS_CLIENT_CA_INVALID,
      `${file} (ingress.tls.client.ca) holds no PEM certificate; give the CA bundle that issues the client certificates`,
    );
  }
  pems.forEach((pem, i) => {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (err) {
      throw new PillionError(
        ErrorCode.TLS_CLIENT_CA_INVALID,
        `${file} (ingress.tls.client.ca): certificate ${i + 1} is not valid PEM (${(err as Error).message})`,
        { cause: err },
      );
    }
    if (!cert.ca) {
      throw new PillionError(
        ErrorCode.TLS_CLIENT_CA_INVALID,
        `${file} (ingress.tls.client.ca): certificate ${i + 1} (${cert.subject.replace(/\n/g, ', ')}) is not a CA (no basicConstraints CA:TRUE); give CA certificates only`,
      );
    }
  });
  return `${pems.join('\n')}\n`;
}

/** Reads the CA bundle and builds the policy. */
export async function loadClientAuth(s: ClientAuthSettings): Promise<ClientAuth> {
  return new ClientAuth(s, await readClientCa(s.ca));
}

/** A DNS allow entry `*.example.com` matches one label more; everything else is exact (DNS and email case-insensitive). */
function dnsMatch(entry: string, name: string): boolean {
  if (!entry.startsWith('*.')) return entry === name;
  const suffix = entry.slice(1);
  const label = name.slice(0, name.length - suffix.length);
  return name.endsWith(suffix) && label.length > 0 && !label.includes('.');
}

/** A URI allow entry ending in `/*` matches every URI under it (a SPIFFE trust domain's path). */
function uriMatch(entry: string, uri: string): boolean {
  return entry.endsWith('/*') ? uri.startsWith(entry.slice(0, -1)) : entry === uri;
}

/** An XFCC value: quoted when it holds a separator (Envoy's rules), `"` and `\` escaped. */
function xfccValue(v: string): string {
  return /[,;="\\]/.test(v) ? `"${v.replace(/["\\]/g, '\\$&')}"` : v;
}

export class ClientAuth {
  readonly settings: ClientAuthSettings;
  readonly caPem: string;
  /**
   * OpenSSL resumes a session only within the same session-id context (RFC 5077 tickets
   * included): tied to the CA bundle, a session verified against a previous CA is never
   * resumed, its client makes a full handshake and is verified again.
   */
  readonly sessionIdContext: string;
  readonly #allowAny: boolean;
  readonly #dns: string[];
  readonly #email: string[];
  /** The header of a connection without a certificate (optional mode): the client's own is still removed. */
  readonly #anonymous: ClientCertHeader;

  constructor(settings: ClientAuthSettings, caPem: string) {
    this.settings = settings;
    this.caPem = caPem;
    this.sessionIdContext = createHash('sha256').update(caPem).digest('hex').slice(0, 32);
    const a = settings.allow;
    this.#allowAny = a.dns.length + a.uri.length + a.email.length + a.subject.length === 0;
    this.#dns = a.dns.map((d) => d.toLowerCase());
    this.#email = a.email.map((e) => e.toLowerCase());
    this.#anonymous = { name: settings.header, value: undefined };
  }

  /** What every secure context serving with this policy carries (the default and each SNI one). */
  get contextOptions(): { ca: string; sessionIdContext: string } {
    return { ca: this.caPem, sessionIdContext: this.sessionIdContext };
  }

  /**
   * The TLS server's own options: a certificate is asked for, and the verdict is `admit`'s
   * alone, so that every denial is logged and counted (Node's own `rejectUnauthorized` closes
   * the socket silently before `secureConnection`).
   */
  static readonly serverOptions = { requestCert: true, rejectUnauthorized: false } as const;

  /** True when both need the same secure context (same CA bundle). */
  sameContext(other: ClientAuth | undefined): boolean {
    return other !== undefined && other.caPem === this.caPem;
  }

  /** True when a verified certificate's names pass the allow-lists (any entry of any list). */
  allows(n: PeerNames): boolean {
    if (this.#allowAny) return true;
    const a = this.settings.allow;
    if (a.subject.includes(n.subject)) return true;
    for (const d of n.dns) {
      const name = d.toLowerCase();
      if (this.#dns.some((e) => dnsMatch(e, name))) return true;
    }
    for (const u of n.uri) if (a.uri.some((e) => uriMatch(e, u))) return true;
    for (const e of n.email) if (this.#email.includes(e.toLowerCase())) return true;
    return false;
  }

  /**
   * The verdict on a connection whose handshake just completed (a resumed one too: the session
   * keeps its certificate, and the policy in force now decides).
   */
  admit(socket: TLSSocket): Admission {
    const cert = socket.getPeerX509Certificate();
    if (!cert) {
      if (this.settings.mode === 'optional') return { ok: true, clientCert: this.#anonymous };
      return { ok: false, reason: 'CLIENT_CERT_MISSING', fields: {} };
    }
    // The chain's verification result, read once here (OpenSSL's, against the CA bundle).
    const verify = socket.authorizationError;
    if (verify) {
      return { ok: false, reason: 'CLIENT_CERT_UNTRUSTED', fields: { error: String(verify) } };
    }
    // A resumed session is not verified again by OpenSSL: a certificate that expired since.
    if (Date.parse(cert.validTo) < Date.now()) {
      return { ok: false, reason: 'CLIENT_CERT_UNTRUSTED', fields: { error: 'CERT_HAS_EXPIRED' } };
    }
    let names: PeerNames;
    try {
      names = peerNames(cert.raw);
    } catch (err) {
      return {
        ok: false,
        reason: 'CLIENT_CERT_UNREADABLE',
        fields: { error: (err as Error).message },
      };
    }
    if (!this.allows(names)) {
      return { ok: false, reason: 'CLIENT_CERT_NOT_ALLOWED', fields: { subject: names.subject } };
    }
    let value = `Hash=${createHash('sha256').update(cert.raw).digest('hex')};Subject="${names.subject}"`;
    for (const u of names.uri) value += `;URI=${xfccValue(u)}`;
    for (const d of names.dns) value += `;DNS=${xfccValue(d)}`;
    return { ok: true, clientCert: { name: this.settings.header, value } };
  }
}
