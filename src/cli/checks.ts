// What `pillion validate` checks beyond the schema, without running anything, and what `pillion
// run` checks before it starts the app: the TLS policy, every certificate and key pair, and the
// state directory.
import { readFileSync } from 'node:fs';
import type { Resolved } from '../config/resolve.ts';
import type { CertPairSettings } from '../config/settings.ts';
import { formatPath } from '../config/validate.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { ensureStateDir } from '../core/state-dir.ts';
import { parseClientCa, unreadableCa } from '../ingress/tls/client-auth.ts';
import { checkPair } from '../ingress/tls/material.ts';
import { checkPolicy } from '../ingress/tls/policy.ts';

/** Throws the first problem found, naming the field's place (`file:line:col` or its flag). */
export function checkFiles(r: Resolved, create: boolean, env = process.env): void {
  const s = r.settings;
  const name = (path: (string | number)[]): string => {
    const at = r.where(path);
    return at ? `${at}: ${formatPath(path)}` : formatPath(path);
  };
  checkPolicy(s.tls, (field) => r.where(['ingress', 'tls', field]));
  const client = s.tls.client;
  if (client) {
    const at = name(['ingress', 'tls', 'client', 'ca']);
    let text: string;
    try {
      text = readFileSync(client.ca, 'utf8');
    } catch (err) {
      const e = unreadableCa(client.ca, err);
      throw new PillionError(e.code, `${at}: ${e.message}`);
    }
    try {
      parseClientCa(text, client.ca);
    } catch (err) {
      throw new PillionError((err as PillionError).code, `${at}: ${(err as Error).message}`);
    }
  }
  const pairs = [...(s.tls.default ? [s.tls.default] : []), ...s.tls.pairs];
  for (const p of pairs) checkOne(p, name, r.where, env);
  if (pairs.length === 0) ensureStateDir(s.stateDir, name(['state_dir']), create);
}

/** One pair read and checked as `pillion run` will; the error names where the pair was given. */
function checkOne(
  p: CertPairSettings,
  name: (path: (string | number)[]) => string,
  where: Resolved['where'],
  env: NodeJS.ProcessEnv,
): void {
  const base = p.field
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  const at = (field: string): string => name([...base, field]);
  const cert = read(p.cert, at('cert'));
  const key = read(p.key, at('key'));
  let passphrase: string | undefined;
  if (p.passphrase && 'file' in p.passphrase)
    passphrase = read(p.passphrase.file, at('passphrase')).replace(/\r?\n$/, '');
  else if (p.passphrase && 'env' in p.passphrase) {
    passphrase = env[p.passphrase.env];
    if (passphrase === undefined)
      throw new PillionError(
        ErrorCode.TLS_PASSPHRASE,
        `${at('passphrase')}: the variable ${p.passphrase.env} is not set; set it to the passphrase of ${p.key}`,
      );
  }
  try {
    checkPair(p, cert, key, passphrase);
  } catch (err) {
    if (!(err instanceof PillionError)) throw err;
    // The message starts with the field; its place (`file:line:col` or flag) goes in front.
    const field = err.message.startsWith(`${p.field}.cert`) ? 'cert' : 'key';
    const loc = where([...base, field]);
    throw new PillionError(err.code, loc ? `${loc}: ${err.message}` : err.message, { cause: err });
  }
}

function read(file: string, at: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new PillionError(
      ErrorCode.TLS_FILE_UNREADABLE,
      `${at}: cannot read ${file} (${code}); fix the path, or leave out the certificate and key to use a generated one`,
    );
  }
}
