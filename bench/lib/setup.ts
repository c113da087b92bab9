// Scratch material for one bench run, under a fresh temporary directory: self-signed
// certificates (ECDSA P-256 and RSA 2048, SAN 127.0.0.1), the upstream's bodies (12 B, 16 KiB,
// 1 MiB) and the wrk no-resume shim built from noresume.c.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LIB = fileURLToPath(new URL('.', import.meta.url));

export type CertKind = 'ecdsa' | 'rsa';

export interface Scratch {
  dir: string;
  certs: Record<CertKind, { cert: string; key: string }>;
  www: string;
  noresume: string;
  wrkScript: string;
}

export const BODY_BYTES = { small: 12, '16k': 16 * 1024, '1m': 1024 * 1024 } as const;

function cert(dir: string, name: CertKind, keyArgs: string[]): { cert: string; key: string } {
  const out = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ...keyArgs,
      '-keyout',
      out.key,
      '-out',
      out.cert,
    ],
    { stdio: 'ignore' },
  );
  return out;
}

const TOOLS = ['nginx', 'haproxy', 'wrk', 'h2load', 'gcc', 'openssl', 'taskset'];

/** The tools the bench drives that are not installed (scripts/bench-deps.sh installs them). */
export function missingTools(): string[] {
  return TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
}

export function makeScratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-bench-'));
  // nginx's workers drop root and must read the bodies (mkdtemp makes the directory 0700).
  chmodSync(dir, 0o755);
  const certs = join(dir, 'certs');
  mkdirSync(certs);
  const www = join(dir, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'small'), 'hello world\n');
  writeFileSync(join(www, '16k'), Buffer.alloc(BODY_BYTES['16k'], 'x'));
  writeFileSync(join(www, '1m'), Buffer.alloc(BODY_BYTES['1m'], 'x'));
  const noresume = join(dir, 'noresume.so');
  execFileSync('gcc', ['-O2', '-shared', '-fPIC', '-o', noresume, join(LIB, 'noresume.c'), '-ldl']);
  return {
    dir,
    certs: {
      ecdsa: cert(certs, 'ecdsa', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']),
      rsa: cert(certs, 'rsa', ['-newkey', 'rsa:2048']),
    },
    www,
    noresume,
    wrkScript: join(LIB, 'wrk-report.lua'),
  };
}
