import {
  createPrivateKey,
  X509Certificate as NodeX509,
  randomBytes,
  type webcrypto,
} from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, PillionError } from '../core/errors.ts';

export interface KeyPair {
  cert: string;
  key: string;
  /** Where they were read from or written to. */
  certFile: string;
  keyFile: string;
  generated: boolean;
}

const VALID_DAYS = 365;
/** A kept certificate this close to expiry is replaced at start. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

/** The names the generated certificate covers: localhost, both loopbacks and this host. */
export function selfSignedNames(): { dns: string[]; ip: string[] } {
  const host = hostname();
  return {
    dns: host && host !== 'localhost' ? ['localhost', host] : ['localhost'],
    ip: ['127.0.0.1', '::1'],
  };
}

/**
 * Returns the self-signed certificate kept in `stateDir/tls`, making a new ECDSA P-256 one when
 * none is kept, it expires within 30 days, or it does not cover this host's names.
 */
export async function selfSignedPair(stateDir: string): Promise<KeyPair> {
  const dir = join(stateDir, 'tls');
  const certFile = join(dir, 'self-signed.crt');
  const keyFile = join(dir, 'self-signed.key');
  const names = selfSignedNames();
  try {
    const [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
    const parsed = new NodeX509(cert);
    const fresh = Date.parse(parsed.validTo) - Date.now() > RENEW_BEFORE_MS;
    const covers = names.dns.every((n) => parsed.checkHost(n) !== undefined);
    if (fresh && covers && parsed.checkPrivateKey(createPrivateKey(key))) {
      return { cert, key, certFile, keyFile, generated: false };
    }
  } catch {
    // None kept yet, or unreadable: make a new one.
  }
  const { cert, key } = await generate(names);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // Write then rename, so a crash never leaves a torn pair behind.
    await writeFile(`${keyFile}.tmp`, key, { mode: 0o600 });
    await writeFile(`${certFile}.tmp`, cert, { mode: 0o644 });
    await rename(`${keyFile}.tmp`, keyFile);
    await rename(`${certFile}.tmp`, certFile);
  } catch (err) {
    throw new PillionError(
      ErrorCode.STATE_DIR_UNWRITABLE,
      `cannot keep the generated certificate in ${dir}: ${(err as Error).message}; set --state-dir to a writable directory`,
      { cause: err },
    );
  }
  return { cert, key, certFile, keyFile, generated: true };
}

async function generate(names: {
  dns: string[];
  ip: string[];
}): Promise<{ cert: string; key: string }> {
  // Loaded only when a certificate is made: it adds about 20 MB of RSS (measured on Node 24).
  await import('reflect-metadata'); // @peculiar/x509 needs the Reflect polyfill loaded first
  const x509 = await import('@peculiar/x509');
  const keys = (await crypto.subtle.generateKey(EC, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16)
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=localhost, O=Pillion self-signed',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + VALID_DAYS * 24 * 3600 * 1000),
    signingAlgorithm: EC,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...names.dns.map((value) => ({ type: 'dns' as const, value })),
        ...names.ip.map((value) => ({ type: 'ip' as const, value })),
      ]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  // PEM files end in a newline, so they concatenate cleanly (e.g. into a combined cert+key file).
  return { cert: `${cert.toString('pem').trim()}\n`, key: `${key.trim()}\n` };
}
