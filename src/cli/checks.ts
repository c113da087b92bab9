// What `pillion validate` checks beyond the schema, without running anything, and what `pillion
// run` checks before it starts the app: the certificate and key files, and the state directory.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Resolved } from '../config/resolve.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { ensureStateDir } from '../core/state-dir.ts';
import { parseClientCa, unreadableCa } from '../ingress/tls/client-auth.ts';

/** Throws the first problem found, naming the field's place (`file:line:col` or its flag). */
export function checkFiles(r: Resolved, create: boolean): void {
  const s = r.settings;
  const name = (path: string[]): string => {
    const at = r.where(path);
    return at ? `${at}: ${path.join('.')}` : path.join('.');
  };
  if (s.clientAuth) {
    const at = name(['ingress', 'tls', 'client', 'ca']);
    let text: string;
    try {
      text = readFileSync(s.clientAuth.ca, 'utf8');
    } catch (err) {
      const e = unreadableCa(s.clientAuth.ca, err);
      throw new PillionError(e.code, `${at}: ${e.message}`);
    }
    try {
      parseClientCa(text, s.clientAuth.ca);
    } catch (err) {
      throw new PillionError((err as PillionError).code, `${at}: ${(err as Error).message}`);
    }
  }
  if (s.certFile && s.keyFile) {
    const certAt = name(['ingress', 'tls', 'cert']);
    const keyAt = name(['ingress', 'tls', 'key']);
    const cert = read(s.certFile, certAt);
    const key = read(s.keyFile, keyAt);
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw tls(`${certAt}: ${s.certFile} is not a PEM certificate; give a PEM certificate chain`);
    }
    let matches: boolean;
    try {
      matches = x509.checkPrivateKey(createPrivateKey(key));
    } catch {
      throw tls(`${keyAt}: ${s.keyFile} is not a PEM private key; give the key of the certificate`);
    }
    if (!matches) {
      throw new PillionError(
        ErrorCode.TLS_KEY_MISMATCH,
        `${keyAt}: ${s.keyFile} is not the private key of ${s.certFile}; give the matching pair`,
      );
    }
  } else {
    ensureStateDir(s.stateDir, name(['state_dir']), create);
  }
}

function tls(message: string): PillionError {
  return new PillionError(ErrorCode.TLS_FILE_UNREADABLE, message);
}

function read(file: string, at: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw tls(
      `${at}: cannot read ${file} (${code}); fix the path, or leave out the certificate and key to use a generated one`,
    );
  }
}
