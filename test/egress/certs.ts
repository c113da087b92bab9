// Test PKI made with openssl: a CA, a server certificate for localhost and 127.0.0.1, an expired
// one, one for another name, and a client certificate, all signed by the CA.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../e2e/harness.ts';

export interface Pair {
  cert: string;
  key: string;
  certPem: Buffer;
  keyPem: Buffer;
}

export interface TestPki {
  dir: string;
  caFile: string;
  ca: Buffer;
  server: Pair;
  expired: Pair;
  wrongName: Pair;
  client: Pair;
}

function ssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function issue(dir: string, name: string, cn: string, san: string, days: string, ext = ''): Pair {
  ssl(
    dir,
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  );
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n${ext}`);
  // `-days -1` puts notAfter before now: an expired certificate.
  ssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    days,
    '-extfile',
    `${name}.ext`,
  );
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  return { cert, key, certPem: readFileSync(cert), keyPem: readFileSync(key) };
}

export function makePki(): TestPki {
  const dir = tempDir();
  ssl(
    dir,
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Pillion Test CA',
  );
  const local = 'DNS:localhost,IP:127.0.0.1';
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    ca: readFileSync(join(dir, 'ca.pem')),
    server: issue(dir, 'server', 'localhost', local, '2'),
    expired: issue(dir, 'expired', 'localhost', local, '-1'),
    wrongName: issue(dir, 'wrong', 'other.example', 'DNS:other.example', '2'),
    client: issue(
      dir,
      'client',
      'pillion-client',
      'DNS:pillion-client',
      '2',
      'extendedKeyUsage=clientAuth\n',
    ),
  };
}
