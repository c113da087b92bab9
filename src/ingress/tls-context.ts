import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { type KeyPair, selfSignedPair } from './self-signed.ts';

export interface TlsSource {
  certFile?: string;
  keyFile?: string;
  stateDir: string;
}

export interface TlsMaterial extends KeyPair {
  fingerprint256: string;
  validTo: string;
  subjectAltName: string;
}

/** Reads the given certificate and key (or the kept self-signed pair) and checks they match. */
export async function loadTlsMaterial(src: TlsSource): Promise<TlsMaterial> {
  const pair =
    src.certFile && src.keyFile
      ? {
          cert: await readTlsFile(src.certFile, '--cert'),
          key: await readTlsFile(src.keyFile, '--key'),
          certFile: src.certFile,
          keyFile: src.keyFile,
          generated: false,
        }
      : await selfSignedPair(src.stateDir);
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(pair.cert);
  } catch (err) {
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `${pair.certFile}: not a PEM certificate (${(err as Error).message}); give a PEM file to --cert`,
      { cause: err },
    );
  }
  let matches: boolean;
  try {
    matches = parsed.checkPrivateKey(createPrivateKey(pair.key));
  } catch (err) {
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `${pair.keyFile}: not a PEM private key (${(err as Error).message}); give a PEM file to --key`,
      { cause: err },
    );
  }
  if (!matches) {
    throw new PillionError(
      ErrorCode.TLS_KEY_MISMATCH,
      `${pair.keyFile} is not the private key of ${pair.certFile}; give the matching pair to --cert and --key`,
    );
  }
  return {
    ...pair,
    fingerprint256: parsed.fingerprint256,
    validTo: new Date(parsed.validTo).toISOString(),
    subjectAltName: parsed.subjectAltName ?? '',
  };
}

async function readTlsFile(file: string, flag: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `cannot read ${file} given to ${flag} (${code}); fix the path, or leave out --cert and --key to use a generated certificate`,
      { cause: err },
    );
  }
}
