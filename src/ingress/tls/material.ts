// Reads the certificates Pillion serves: each pair's chain, key and passphrase, checked to match,
// and indexed by the SNI names it serves. A pair that fails names its file and field; nothing is
// served from a half-read set.
import { createHash, createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CertPairSettings, TlsSettings } from '../../config/settings.ts';
import { ErrorCode, PillionError } from '../../core/errors.ts';
import { selfSignedPair } from '../self-signed.ts';
import { ClientAuth, parseClientCa, unreadableCa } from './client-auth.ts';

/** `ingress.tls` with every default: the generated pair, the intermediate profile. */
export const DEFAULT_TLS: TlsSettings = {
  pairs: [],
  profile: 'intermediate',
  handshakeTimeoutMs: 10_000,
  sessionTickets: true,
  ticketKeyRotationMs: 3_600_000,
};

export interface TlsSource {
  stateDir: string;
  /** Absent: DEFAULT_TLS. */
  tls?: TlsSettings;
  /** Where `passphrase.env` is read; Pillion's environment by default. */
  env?: NodeJS.ProcessEnv;
}

/** One pair read, checked and ready for a secure context. */
export interface LoadedPair {
  /** The chain as read: the leaf, then its intermediates. */
  cert: string;
  key: KeyObject;
  leaf: X509Certificate;
  /** The names it is served for, lower case; `*.example.com` for a wildcard. */
  names: string[];
  certFile: string;
  keyFile: string;
  field: string;
  generated: boolean;
}

export interface TlsMaterial {
  /** What it was read from, the generated pair (if any) written in as the default. */
  settings: TlsSettings;
  /** Served when no SNI name matches (or no SNI was sent). */
  defaults: LoadedPair[];
  /** Every pair, in config order. */
  pairs: LoadedPair[];
  /** Every file read, for watching. */
  files: string[];
  /** A digest of every byte read: what changed on disk shows as a new key. */
  contentKey: string;
  /** mTLS (`ingress.tls.client`): the policy and its CA bundle, read with the certificates. */
  clientAuth?: ClientAuth;
  /** The first default's facts, as the start line logs them. */
  certFile: string;
  generated: boolean;
  /** The local CA that issued the generated certificate (docs/local-ca.md). */
  caFile?: string;
  fingerprint256: string;
  validTo: string;
  subjectAltName: string;
}

/**
 * Reads every pair of `src.tls` (or the kept generated one when none is given) and checks each
 * key matches its certificate. Throws a PillionError naming the file and the field.
 */
export async function loadTlsMaterial(src: TlsSource): Promise<TlsMaterial> {
  let settings = src.tls ?? DEFAULT_TLS;
  let generated = false;
  let caFile: string | undefined;
  if (!settings.default && settings.pairs.length === 0) {
    const kept = await selfSignedPair(src.stateDir);
    generated = kept.generated;
    caFile = kept.caFile;
    settings = {
      ...settings,
      default: { cert: kept.certFile, key: kept.keyFile, field: 'generated certificate' },
    };
  }
  const digest = createHash('sha256');
  const files: string[] = [];
  const read = async (given: string, field: string, what: string): Promise<string> => {
    const file = resolve(given);
    files.push(file);
    const bytes = await readTlsFile(file, field, what);
    // The same digest as core/file-watch.ts contentKey, so the watcher can compare.
    digest.update(file).update('\0').update(bytes).update('\0');
    return bytes.toString('utf8');
  };
  const env = src.env ?? process.env;
  const load = async (p: CertPairSettings): Promise<LoadedPair> => {
    const cert = await read(p.cert, p.field, 'certificate');
    const keyText = await read(p.key, p.field, 'key');
    let passphrase: string | undefined;
    if (p.passphrase && 'file' in p.passphrase)
      passphrase = (await read(p.passphrase.file, p.field, 'passphrase')).replace(/\r?\n$/, '');
    else if (p.passphrase && 'env' in p.passphrase) {
      passphrase = env[p.passphrase.env];
      if (passphrase === undefined)
        throw new PillionError(
          ErrorCode.TLS_PASSPHRASE,
          `${p.field}.passphrase: the variable ${p.passphrase.env} is not set; set it to the passphrase of ${p.key}`,
        );
    }
    return checkPair(p, cert, keyText, passphrase);
  };
  const defaults = settings.default ? [await load(settings.default)] : [];
  const pairs: LoadedPair[] = [];
  for (const p of settings.pairs) pairs.push(await load(p));
  // The default is cert/key, else the first entry; with every entry for the same names (an RSA
  // and an ECDSA certificate side by side), served from one context without an SNI switch.
  const first = (defaults[0] ?? (pairs[0] as LoadedPair)).names.join(' ');
  defaults.push(...pairs.filter((p) => p.names.join(' ') === first));
  const head = defaults[0] as LoadedPair;
  // The client CA is one more watched file: a change rotates it as a certificate's would.
  let clientAuth: ClientAuth | undefined;
  const client = settings.client;
  if (client) {
    const file = resolve(client.ca);
    files.push(file);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw unreadableCa(client.ca, err);
    }
    digest.update(file).update('\0').update(bytes).update('\0');
    clientAuth = new ClientAuth(client, parseClientCa(bytes.toString('utf8'), client.ca));
  }
  return {
    settings,
    defaults,
    pairs,
    files,
    contentKey: digest.digest('hex'),
    ...(clientAuth ? { clientAuth } : {}),
    certFile: head.certFile,
    generated,
    ...(caFile ? { caFile } : {}),
    fingerprint256: head.leaf.fingerprint256,
    validTo: new Date(head.leaf.validTo).toISOString(),
    subjectAltName: head.leaf.subjectAltName ?? '',
  };
}

const END_CERT = '-----END CERTIFICATE-----';

/** Parses a pair read from disk and checks its key is the certificate's. */
export function checkPair(
  p: CertPairSettings,
  cert: string,
  keyText: string,
  passphrase: string | undefined,
): LoadedPair {
  // A file holding the chain then the key (the generated tls/leaf.pem): the chain alone is served.
  const end = cert.lastIndexOf(END_CERT);
  const chain =
    end >= 0 && /PRIVATE KEY-----/.test(cert.slice(end))
      ? `${cert.slice(0, end + END_CERT.length)}\n`
      : cert;
  let leaf: X509Certificate;
  try {
    // A truncated chain fails here too: the constructor reads the first block, and a
    // secure context is made from the whole text below.
    leaf = new X509Certificate(chain);
    if (!/-----END CERTIFICATE-----\s*$/.test(chain)) throw new Error('the PEM text is cut short');
  } catch (err) {
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `${p.field}.cert: ${p.cert} is not a PEM certificate (${(err as Error).message}); give a PEM certificate chain`,
      { cause: err },
    );
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(
      passphrase === undefined ? keyText : { key: keyText, passphrase, format: 'pem' },
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const encrypted = /ENCRYPTED/.test(keyText);
    if (encrypted)
      throw new PillionError(
        ErrorCode.TLS_PASSPHRASE,
        `${p.field}.key: ${p.key} is encrypted and ${passphrase === undefined ? 'no passphrase is given' : 'the passphrase does not open it'}; set ${p.field}.passphrase (file or env)`,
        { cause: err },
      );
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `${p.field}.key: ${p.key} is not a PEM private key (${e.message}); give the key of ${p.cert}`,
      { cause: err },
    );
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new PillionError(
      ErrorCode.TLS_KEY_MISMATCH,
      `${p.field}.key: ${p.key} is not the private key of ${p.cert}; give the matching pair`,
    );
  }
  return {
    cert: chain,
    key,
    leaf,
    names: p.names ?? dnsNames(leaf),
    certFile: p.cert,
    keyFile: p.key,
    field: p.field,
    generated: false,
  };
}

/** The certificate's DNS subject alternative names, lower case. */
export function dnsNames(x: X509Certificate): string[] {
  const out: string[] = [];
  for (const part of (x.subjectAltName ?? '').split(/,\s*/)) {
    if (part.startsWith('DNS:')) out.push(part.slice(4).toLowerCase());
  }
  return out;
}

async function readTlsFile(file: string, field: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `${field}: cannot read the ${what} ${file} (${code}); fix the path, or leave out the certificates to use a generated one`,
      { cause: err },
    );
  }
}
