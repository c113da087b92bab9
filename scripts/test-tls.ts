// Runs testssl.sh (JSON) and sslscan against `pillion run` with an RSA and an ECDSA certificate
// from a private CA, both scans at once, and checks what RELIABILITY.md S1 asks: no HIGH or
// CRITICAL finding but the allow-listed `cert_revocation` (a private CA has no CRL or OCSP), no
// LOW or worse in the protocol and cipher sections, and sslscan agreeing (no TLS < 1.2, no
// CBC, no static RSA, no client renegotiation). Started by scripts/test-tls.sh.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pillion-tls-scan-'));
const keep = process.argv.includes('--keep');
/** Sections where a LOW finding already fails (testssl.sh 3.0 names; `fs` in later versions). */
const STRICT = ['protocols', 'grease', 'ciphers', 'pfs', 'fs', 'serverPreferences', 'cipherTests'];
const ALLOWED_HIGH = new Set(['cert_revocation']);
const RANK: Record<string, number> = {
  OK: 0,
  INFO: 0,
  WARN: 0,
  LOW: 1,
  MEDIUM: 2,
  HIGH: 3,
  CRITICAL: 4,
};

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a leaf it issued for localhost and 127.0.0.1, valid 200 days (S1 asks >= 60). */
function makeCerts(): { ca: string; rsa: string[]; ec: string[] } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  writeFileSync(
    join(dir, 'ca.cnf'),
    '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n',
  );
  openssl([
    'req',
    '-x509',
    ...ec,
    '-noenc',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '365',
    '-subj',
    '/CN=Pillion scan CA',
    '-config',
    'ca.cnf',
    '-extensions',
    'v3',
  ]);
  writeFileSync(
    join(dir, 'leaf.ext'),
    'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  const leaf = (name: string, newkey: string[]): string[] => {
    openssl([
      'req',
      '-new',
      ...newkey,
      '-noenc',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      '/CN=localhost',
    ]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '200',
      '-extfile',
      'leaf.ext',
      '-out',
      `${name}.crt`,
    ]);
    return [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
  };
  return { ca: join(dir, 'ca.crt'), rsa: leaf('rsa', ['-newkey', 'rsa:2048']), ec: leaf('ec', ec) };
}

/** Starts `pillion run` with the pair in front of the fixture app; resolves with its port. */
function startPillion(
  cert: string,
  key: string,
  name: string,
): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(
    process.execPath,
    [
      join(ROOT, 'src/main.ts'),
      'run',
      '--listen',
      '127.0.0.1:0',
      '--cert',
      cert,
      '--key',
      key,
      '--state-dir',
      join(dir, `state-${name}`),
      '--',
      process.execPath,
      join(ROOT, 'test/fixtures/app.ts'),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let port = 0;
    const timer = setTimeout(
      () => reject(new Error(`${name}: pillion did not become ready in 30 s`)),
      30_000,
    );
    createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> }).on(
      'line',
      (text) => {
        let line: Record<string, unknown>;
        try {
          line = JSON.parse(text);
        } catch {
          return;
        }
        if (line.msg === 'ingress listening') port = Number(line.port);
        if (line.msg === 'app ready' && port) {
          clearTimeout(timer);
          resolve({ proc, port });
        }
      },
    );
    proc.once('exit', (code) => reject(new Error(`${name}: pillion exited with ${code}`)));
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => {
      out += c;
    });
    p.stderr.on('data', (c) => {
      out += c;
    });
    p.once('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

interface Finding {
  section: string;
  id: string;
  severity: string;
  finding: string;
}

/** testssl.sh's pretty JSON: findings grouped by section (the flat --jsonfile has no sections). */
function findings(file: string): Finding[] {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { scanResult: Record<string, unknown>[] };
  const out: Finding[] = [];
  for (const result of doc.scanResult) {
    for (const [section, list] of Object.entries(result)) {
      if (!Array.isArray(list)) continue;
      for (const f of list as { id: string; severity: string; finding: string }[])
        out.push({ section, id: f.id, severity: f.severity, finding: f.finding });
    }
  }
  return out;
}

/** What sslscan must not show; each line that does is a problem. */
function sslscanProblems(out: string): string[] {
  const problems: string[] = [];
  for (const v of ['SSLv2', 'SSLv3', 'TLSv1.0', 'TLSv1.1'])
    if (!new RegExp(`^${v.replace('.', '\\.')}\\s+disabled`, 'm').test(out))
      problems.push(`${v} not disabled`);
  if (!/^TLSv1\.2\s+enabled/m.test(out) || !/^TLSv1\.3\s+enabled/m.test(out))
    problems.push('TLS 1.2 or 1.3 not enabled');
  if (/Insecure session renegotiation supported|Secure session renegotiation supported/.test(out))
    problems.push('session renegotiation supported');
  for (const m of out.matchAll(/^(Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)/gm)) {
    const [, , proto, cipher] = m;
    if (proto === 'TLSv1.3') continue;
    if (!/GCM|CHACHA20|CCM/.test(cipher)) problems.push(`${proto} ${cipher}: not AEAD (CBC)`);
    if (!/^ECDHE-/.test(cipher)) problems.push(`${proto} ${cipher}: no ECDHE (static RSA or DHE)`);
  }
  if (/ffdhe|DHE \d+ bits/.test(out)) problems.push('a finite-field group is offered');
  return problems;
}

async function scan(kind: 'rsa' | 'ec', pair: string[], ca: string): Promise<string[]> {
  const [cert, key] = pair as [string, string];
  const { proc, port } = await startPillion(cert, key, kind);
  const problems: string[] = [];
  try {
    const json = join(dir, `testssl-${kind}.json`);
    const t0 = Date.now();
    // Protocols, cipher categories, forward secrecy, server preferences, server defaults and
    // vulnerabilities; no client simulation or HTTP header checks (the app's headers).
    const ts = await run('testssl', [
      '--jsonfile-pretty',
      json,
      '--add-ca',
      ca,
      '--warnings',
      'batch',
      '--color',
      '0',
      '--quiet',
      '-p',
      '-s',
      '-f',
      '-P',
      '-S',
      '-U',
      '--ip',
      '127.0.0.1',
      `localhost:${port}`,
    ]);
    const secs = Math.round((Date.now() - t0) / 1000);
    let all: Finding[];
    try {
      all = findings(json);
    } catch (err) {
      return [
        `${kind}: testssl.sh wrote no JSON (exit ${ts.code}): ${(err as Error).message}\n${ts.out.slice(-2000)}`,
      ];
    }
    const notable = all.filter((f) => (RANK[f.severity] ?? 0) > 0);
    console.log(
      `\n== testssl.sh, ${kind.toUpperCase()} certificate (${secs} s, ${all.length} findings; LOW or above:)`,
    );
    for (const f of notable)
      console.log(`  ${f.severity.padEnd(8)} ${f.section}/${f.id}: ${f.finding}`);
    if (notable.length === 0) console.log('  none');
    for (const f of notable) {
      const rank = RANK[f.severity] ?? 0;
      if (rank >= RANK.HIGH && !ALLOWED_HIGH.has(f.id))
        problems.push(`${kind}: ${f.severity} ${f.section}/${f.id}: ${f.finding}`);
      else if (STRICT.includes(f.section))
        problems.push(`${kind}: ${f.severity} in ${f.section}: ${f.id}: ${f.finding}`);
    }
    const ss = await run('sslscan', ['--no-colour', `127.0.0.1:${port}`]);
    const accepted = [
      ...ss.out.matchAll(/^(?:Preferred|Accepted)\s+(\S+)\s+\d+ bits\s+(\S+)/gm),
    ].map((m) => `${m[1]} ${m[2]}`);
    console.log(`== sslscan, ${kind.toUpperCase()}: ${accepted.join(', ')}`);
    for (const p of sslscanProblems(ss.out)) problems.push(`${kind}: sslscan: ${p}`);
  } finally {
    proc.kill('SIGTERM');
  }
  return problems;
}

const certs = makeCerts();
const started = Date.now();
const problems = (
  await Promise.all([scan('rsa', certs.rsa, certs.ca), scan('ec', certs.ec, certs.ca)])
).flat();
console.log(`\n== TLS scan done in ${Math.round((Date.now() - started) / 1000)} s`);
if (keep) console.log(`JSON and certificates kept in ${dir}`);
else rmSync(dir, { recursive: true, force: true });
if (problems.length > 0) {
  console.error(`TLS scan failed:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('TLS scan passed: no finding in the protocol and cipher sections, sslscan agrees');
