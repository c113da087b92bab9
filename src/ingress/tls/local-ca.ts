// Certificates Pillion makes itself: a long-lived local CA and the leaves it issues. In the
// zero-config case the CA lives in the state directory, so a developer trusts it once
// (`pillion cert trust`) and every leaf it issues after is trusted too; `pillion cert make-ca`
// and `make-leaf` make the same for a dev or test setup.
import {
  createPrivateKey,
  type KeyObject,
  type X509Certificate as NodeX509,
  randomBytes,
  type webcrypto,
} from 'node:crypto';
import { isIP } from 'node:net';
import { userInfo } from 'node:os';

export interface Pem {
  cert: string;
  key: string;
}

const DAY = 24 * 3600 * 1000;
/** A CA outlives many leaves: ten years, as mkcert's. */
export const CA_DAYS = 3650;
/** Leaves stay under the 398 days browsers accept (CA/B Forum; Apple's rule for user CAs is 825). */
export const LEAF_DAYS = 365;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** Loaded only when a certificate is made: it adds about 20 MB of RSS (measured on Node 24). */
async function x509lib(): Promise<typeof import('@peculiar/x509')> {
  await import('reflect-metadata'); // @peculiar/x509 needs the Reflect polyfill loaded first
  return import('@peculiar/x509');
}

/** A positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, never negative). */
function serial(): string {
  return randomBytes(16)
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

/** PEM files end in a newline, so they concatenate cleanly (a combined cert+key file). */
function pem(text: string): string {
  return `${text.trim()}\n`;
}

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  const x509 = await x509lib();
  return pem(x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY'));
}

/** The signing algorithm for a CA key of any usual kind (ours are ECDSA P-256; openssl's may be RSA). */
function signingAlgorithm(key: KeyObject): { name: string; namedCurve?: string; hash: string } {
  if (key.asymmetricKeyType === 'rsa') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType === 'ec' && (curve === 'prime256v1' || curve === 'secp384r1')) {
    const p384 = curve === 'secp384r1';
    return {
      name: 'ECDSA',
      namedCurve: p384 ? 'P-384' : 'P-256',
      hash: p384 ? 'SHA-384' : 'SHA-256',
    };
  }
  throw new Error(`unsupported CA key type ${key.asymmetricKeyType} ${curve ?? ''}`.trim());
}

/** The default name of a CA made here: whose and which, so two of them are told apart in a trust store. */
export function caName(label = 'Pillion local CA'): string {
  let who = 'user';
  try {
    who = userInfo().username;
  } catch {
    // No passwd entry (a container's arbitrary UID): the default stays.
  }
  // In DER order (the most general first), as openssl and most CAs write it.
  return `O=Pillion, OU=${who.replace(/[,+="\\<>;]/g, '_')}, CN=${label} ${randomBytes(3).toString('hex')}`;
}

/** A new CA: ECDSA P-256, `days` long, for issuing leaves only (pathLen 0). */
export async function makeCa(name: string, days = CA_DAYS, now = Date.now()): Promise<Pem> {
  const x509 = await x509lib();
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + days * DAY),
    signingAlgorithm: EC,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: pem(cert.toString('pem')), key: await exportKey(keys.privateKey) };
}

export interface LeafOptions {
  days?: number;
  /** A client certificate (EKU clientAuth, for mTLS) instead of a server one. */
  client?: boolean;
  now?: number;
}

/** How a name goes into the subjectAltName: an IP, a URI (SPIFFE IDs), an email address or a DNS name. */
function sanEntry(name: string): { type: 'ip' | 'url' | 'email' | 'dns'; value: string } {
  if (isIP(name)) return { type: 'ip', value: name };
  if (name.includes('://')) return { type: 'url', value: name };
  if (name.includes('@')) return { type: 'email', value: name };
  return { type: 'dns', value: name };
}

/** A leaf for `names` (the first is its CN), issued by `ca`, with a new ECDSA P-256 key. */
export async function issueLeaf(ca: Pem, names: string[], opts: LeafOptions = {}): Promise<Pem> {
  const x509 = await x509lib();
  const now = opts.now ?? Date.now();
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = createPrivateKey(ca.key);
  const alg = signingAlgorithm(caKey);
  const signingKey = caKey.toCryptoKey(alg, false, ['sign']) as unknown as webcrypto.CryptoKey;
  const keys = await newKeys();
  const cn = (names[0] ?? 'localhost').replace(/[,+="\\<>;]/g, '_');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${cn}`,
    issuer: caCert.subjectName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + (opts.days ?? LEAF_DAYS) * DAY),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        opts.client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(names.map(sanEntry)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { cert: pem(cert.toString('pem')), key: await exportKey(keys.privateKey) };
}

/** True when `leaf` was issued by `ca` (name and signature). */
export function issuedBy(leaf: NodeX509, ca: NodeX509): boolean {
  return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
}

/** True when a certificate ends within `days` of `now`. */
export function expiresWithin(cert: NodeX509, days: number, now = Date.now()): boolean {
  return Date.parse(cert.validTo) - now <= days * DAY;
}
