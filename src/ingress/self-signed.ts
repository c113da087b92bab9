// The generated certificate (no `--cert/--key`): a leaf issued by the local CA Pillion keeps in
// its state directory (tls/local-ca.ts), so a developer trusts that CA once and every leaf
// after it. The CA lasts ten years; the leaf a year, and is replaced 30 days before it ends,
// at start or while running (Sidecar). Files: `tls/ca/ca.crt`, `tls/ca/ca.key` (0600) and
// `tls/leaf.pem` (certificate then key, 0600, one file so it is replaced in one rename).
import { createPrivateKey, X509Certificate as NodeX509, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { caName, expiresWithin, issuedBy, issueLeaf, makeCa, type Pem } from './tls/local-ca.ts';

export interface KeyPair {
  cert: string;
  key: string;
  /** Where they were read from or written to. */
  certFile: string;
  keyFile: string;
  generated: boolean;
  /** The local CA that issued a generated certificate. */
  caFile?: string;
}

/** A kept leaf this close to expiry is replaced. */
export const RENEW_DAYS = 30;
/** A CA this close to expiry is replaced (its leaves could not outlive it). */
const CA_RENEW_DAYS = 400;

/** The names the generated certificate covers: localhost, both loopbacks and this host. */
export function selfSignedNames(): { dns: string[]; ip: string[] } {
  const host = hostname();
  return {
    dns: host && host !== 'localhost' ? ['localhost', host] : ['localhost'],
    ip: ['127.0.0.1', '::1'],
  };
}

/** Where the state directory keeps the local CA and the generated leaf. */
export function localCaFiles(stateDir: string): {
  dir: string;
  cert: string;
  key: string;
  leaf: string;
} {
  const dir = join(stateDir, 'tls');
  return {
    dir,
    cert: join(dir, 'ca', 'ca.crt'),
    key: join(dir, 'ca', 'ca.key'),
    leaf: join(dir, 'leaf.pem'),
  };
}

function unwritable(dir: string, err: unknown): PillionError {
  return new PillionError(
    ErrorCode.STATE_DIR_UNWRITABLE,
    `cannot keep the generated certificate in ${dir}: ${(err as Error).message}; set --state-dir to a writable directory`,
    { cause: err },
  );
}

/** The kept CA, when whole, a CA, its key's own, and far from expiry. */
async function keptCa(f: ReturnType<typeof localCaFiles>, now: number): Promise<Pem | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(f.cert, 'utf8'), readFile(f.key, 'utf8')]);
    const x = new NodeX509(cert);
    if (x.ca && x.checkPrivateKey(createPrivateKey(key)) && !expiresWithin(x, CA_RENEW_DAYS, now))
      return { cert, key };
  } catch {
    // None kept yet, or unreadable: a new one is made.
  }
  return undefined;
}

/**
 * The local CA of `stateDir`, made when there is none (or it is near its end). A new CA is
 * written to a directory of its own and renamed into place whole, so two Pillions starting at
 * once agree on one CA: the second rename fails and that one reads the first's.
 */
export async function stateCa(
  stateDir: string,
  now = Date.now(),
): Promise<Pem & { certFile: string; keyFile: string; generated: boolean }> {
  const f = localCaFiles(stateDir);
  const files = { certFile: f.cert, keyFile: f.key };
  const kept = await keptCa(f, now);
  if (kept) return { ...kept, ...files, generated: false };
  const made = await makeCa(caName(), undefined, now);
  const tmp = join(f.dir, `.ca-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(tmp, { recursive: true, mode: 0o700 });
    await writeFile(join(tmp, 'ca.key'), made.key, { mode: 0o600 });
    await writeFile(join(tmp, 'ca.crt'), made.cert, { mode: 0o644 });
    // One that is there but unusable (expiring, torn) is set aside, never deleted: it may be trusted.
    await rename(join(f.dir, 'ca'), join(f.dir, `ca.old-${now}`)).catch(() => {});
    await rename(tmp, join(f.dir, 'ca'));
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    const theirs = await keptCa(f, now);
    if (theirs) return { ...theirs, ...files, generated: false };
    throw unwritable(f.dir, err);
  }
  return { ...made, ...files, generated: true };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/;

/** The kept leaf, when issued by `ca`, fresh, covering this host's names, with its own key. */
async function keptLeaf(file: string, ca: Pem, now: number): Promise<Pem | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    const cert = PEM_CERT.exec(text)?.[0];
    if (!cert) return undefined;
    const key = text.replace(cert, '');
    const x = new NodeX509(cert);
    const fresh = !expiresWithin(x, RENEW_DAYS, now);
    const covers = selfSignedNames().dns.every((n) => x.checkHost(n) !== undefined);
    if (
      fresh &&
      covers &&
      issuedBy(x, new NodeX509(ca.cert)) &&
      x.checkPrivateKey(createPrivateKey(key))
    )
      return { cert, key };
  } catch {
    // None kept, torn or unreadable: a new one is issued.
  }
  return undefined;
}

/**
 * The generated certificate: the leaf kept in `stateDir/tls/leaf.pem`, or a new one issued
 * by the state directory's CA when none is kept, it ends within 30 days, it does not cover
 * this host's names, or another CA issued it.
 */
export async function selfSignedPair(stateDir: string, now = Date.now()): Promise<KeyPair> {
  const ca = await stateCa(stateDir, now);
  const f = localCaFiles(stateDir);
  const out = { certFile: f.leaf, keyFile: f.leaf, caFile: f.cert };
  const kept = await keptLeaf(f.leaf, ca, now);
  if (kept) return { ...kept, ...out, generated: false };
  const names = selfSignedNames();
  const leaf = await issueLeaf(ca, [...names.dns, ...names.ip], { now });
  try {
    // Write then rename, so a crash never leaves a torn pair behind.
    const tmp = `${f.leaf}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, leaf.cert + leaf.key, { mode: 0o600 });
    await rename(tmp, f.leaf);
  } catch (err) {
    throw unwritable(f.dir, err);
  }
  return { ...leaf, ...out, generated: true };
}
