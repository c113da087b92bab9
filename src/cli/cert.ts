// `pillion cert`: what certificate is served and by which CA; how to trust the local CA; and a
// CA and leaves for a dev or test setup (make-ca, make-leaf). The certificates themselves are
// made in ingress/tls/local-ca.ts.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';
import { parseRunArgv } from '../config/flags.ts';
import { resolveConfig } from '../config/resolve.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { localCaFiles, selfSignedPair, stateCa } from '../ingress/self-signed.ts';
import { caName, issueLeaf, makeCa } from '../ingress/tls/local-ca.ts';
import { checkFiles } from './checks.ts';
import { usageError } from './usage.ts';

export const CERT_HELP = `Usage: pillion cert [RUN FLAGS...]          what is served: subject, names, issuer, expiry, SHA-256
       pillion cert trust [RUN FLAGS...]    how to trust the local CA (curl, browsers, Debian)
       pillion cert make-ca DIR [--name CN] [--days N]
       pillion cert make-leaf --ca DIR [--out DIR] [--days N] [--client] NAME...

Without --cert/--key (ingress.tls), Pillion serves a certificate issued by a local CA it keeps
in its state directory (tls/ca/ca.crt, key 0600): trust that CA once and every certificate it
issues later is trusted too. pillion cert and pillion cert trust make the CA if there is none
yet. RUN FLAGS are those of pillion run (--config, --state-dir, --cert, ...), read the same way.

make-ca writes DIR/ca.crt and DIR/ca.key (0600): an ECDSA P-256 CA for 3650 days (--days).
make-leaf issues a certificate for each NAME (DNS name, IP address, URI such as a SPIFFE ID,
or email address; the first is its CN) from the CA in --ca DIR, into --out DIR (default the CA's
directory) as NAME.crt and NAME.key (0600), valid 365 days; --client makes a client certificate
(extendedKeyUsage clientAuth) for ingress.tls.client, else a server one (serverAuth).
`;

function fingerprint(x: X509Certificate): string {
  return x.fingerprint256;
}

function describe(title: string, file: string, x: X509Certificate): string {
  const rows: [string, string][] = [
    ['subject', x.subject.split('\n').reverse().join(', ')],
    ['names', x.subjectAltName ?? '-'],
    ['issuer', x.issuer.split('\n').reverse().join(', ')],
    ['valid from', new Date(x.validFrom).toISOString()],
    ['expires', new Date(x.validTo).toISOString()],
    ['sha256', fingerprint(x)],
  ];
  return `${title}: ${file}\n${rows.map(([k, v]) => `  ${k.padEnd(11)} ${v}`).join('\n')}\n`;
}

/** The served certificate of the config `args` resolve to; makes the generated one if needed. */
async function served(args: string[]) {
  let run: ReturnType<typeof parseRunArgv>;
  try {
    run = parseRunArgv(args);
  } catch (err) {
    throw usageError((err as Error).message.split('\n')[0], 'pillion cert');
  }
  const r = resolveConfig({ run });
  checkFiles(r, true);
  const s = r.settings;
  if (s.certFile && s.keyFile) return { file: s.certFile, cert: readFileSync(s.certFile, 'utf8') };
  const pair = await selfSignedPair(s.stateDir);
  return { file: pair.certFile, cert: pair.cert, caFile: pair.caFile, stateDir: s.stateDir };
}

async function show(args: string[]): Promise<number> {
  const got = await served(args);
  const x = new X509Certificate(got.cert);
  let out = describe('served', got.file, x);
  if (got.caFile) {
    const ca = new X509Certificate(readFileSync(got.caFile, 'utf8'));
    out += `${describe('local CA', got.caFile, ca)}Trust it once: pillion cert trust\n`;
  } else out += 'Given by ingress.tls (--cert/--key): not issued by the local CA.\n';
  process.stdout.write(out);
  return 0;
}

async function trust(args: string[]): Promise<number> {
  const got = await served(args);
  if (!got.caFile || !got.stateDir) {
    process.stdout.write(
      `The served certificate (${got.file}) is your own (--cert/--key): trust its issuer instead.\n`,
    );
    return 0;
  }
  const ca = await stateCa(got.stateDir);
  const x = new X509Certificate(ca.cert);
  const nick = x.subject.match(/CN=([^\n]*)/)?.[1] ?? 'Pillion local CA';
  const f = ca.certFile;
  process.stdout.write(`The local CA: ${f}
  subject ${x.subject.split('\n').reverse().join(', ')}
  sha256  ${fingerprint(x)}
Its key (${localCaFiles(got.stateDir).key}, 0600) can issue certificates for any name: whoever
trusts this CA trusts that key. Remove the trust when you no longer need it.

curl and other OpenSSL clients, one command:
  curl --cacert ${f} https://localhost:8443/
Node.js:
  NODE_EXTRA_CA_CERTS=${f} node app.js

Chrome and Chromium on Linux (NSS; certutil is in Debian's libnss3-tools):
  certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n "${nick}" -i ${f}
  (remove: certutil -d sql:$HOME/.pki/nssdb -D -n "${nick}")
Firefox (each profile):
  for d in $HOME/.mozilla/firefox/*/; do certutil -d sql:$d -A -t C,, -n "${nick}" -i ${f}; done

The Debian system store (curl, wget, Python, Go, ... without a flag):
  sudo cp ${f} /usr/local/share/ca-certificates/pillion-local-ca.crt
  sudo update-ca-certificates
  (remove: sudo rm /usr/local/share/ca-certificates/pillion-local-ca.crt && sudo update-ca-certificates --fresh)
`);
  return 0;
}

function days(v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw usageError(`--days ${v}: give a whole number of days`, 'pillion cert');
  return n;
}

/** parseArgs, its mistakes turned into usage errors. */
function parsed<O extends ParseArgsOptionsConfig>(args: string[], options: O) {
  try {
    return parseArgs({ args, allowPositionals: true, options, strict: true });
  } catch (err) {
    throw usageError((err as Error).message, 'pillion cert');
  }
}

function keep(file: string, text: string, mode: number): void {
  writeFileSync(file, text, { mode, flag: 'wx' });
}

async function makeCaCommand(args: string[]): Promise<number> {
  const { values, positionals } = parsed(args, {
    name: { type: 'string' },
    days: { type: 'string' },
  });
  if (positionals.length !== 1) throw usageError('make-ca takes one DIR', 'pillion cert');
  const dir = resolve(positionals[0] as string);
  if (existsSync(join(dir, 'ca.key')) || existsSync(join(dir, 'ca.crt')))
    throw usageError(
      `${dir} already holds a CA (ca.crt or ca.key); choose another DIR`,
      'pillion cert',
    );
  const ca = await makeCa(
    values.name ? `CN=${values.name}` : caName('Pillion dev CA'),
    days(values.days, 3650),
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  keep(join(dir, 'ca.key'), ca.key, 0o600);
  keep(join(dir, 'ca.crt'), ca.cert, 0o644);
  process.stdout.write(describe('CA', join(dir, 'ca.crt'), new X509Certificate(ca.cert)));
  return 0;
}

async function makeLeafCommand(args: string[]): Promise<number> {
  const { values, positionals } = parsed(args, {
    ca: { type: 'string' },
    out: { type: 'string' },
    days: { type: 'string' },
    client: { type: 'boolean' },
  });
  if (!values.ca)
    throw usageError('make-leaf needs --ca DIR (made by pillion cert make-ca)', 'pillion cert');
  if (positionals.length === 0)
    throw usageError('make-leaf needs at least one NAME', 'pillion cert');
  const caDir = resolve(values.ca);
  const read = (f: string): string => {
    try {
      return readFileSync(join(caDir, f), 'utf8');
    } catch (err) {
      throw new PillionError(
        ErrorCode.TLS_FILE_UNREADABLE,
        `cannot read ${join(caDir, f)} (${(err as NodeJS.ErrnoException).code}); make a CA with pillion cert make-ca ${values.ca}`,
        { cause: err },
      );
    }
  };
  const ca = { cert: read('ca.crt'), key: read('ca.key') };
  const leaf = await issueLeaf(ca, positionals, {
    days: days(values.days, 365),
    client: values.client === true,
  });
  const out = resolve(values.out ?? caDir);
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const base = (positionals[0] as string).replace(/[^\w.@-]+/g, '_');
  keep(join(out, `${base}.key`), leaf.key, 0o600);
  keep(join(out, `${base}.crt`), leaf.cert, 0o644);
  process.stdout.write(
    `${describe(values.client ? 'client certificate' : 'certificate', join(out, `${base}.crt`), new X509Certificate(leaf.cert))}  key         ${join(out, `${base}.key`)}\n`,
  );
  return 0;
}

/** `pillion cert ...`: resolves with the exit code. */
export async function certCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(CERT_HELP);
    return 0;
  }
  switch (sub) {
    case 'trust':
      return trust(rest);
    case 'make-ca':
      return makeCaCommand(rest);
    case 'make-leaf':
      return makeLeafCommand(rest);
    case 'show':
      return show(rest);
    default:
      if (sub !== undefined && !sub.startsWith('-'))
        throw usageError(`unknown cert command '${sub}'`, 'pillion cert');
      return show(args);
  }
}
