// Certificates made with openssl for TLS tests, and the real Ingress started in this process
// with a given `ingress.tls`, in front of a spy app, on loopback.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type ConnectionOptions, connect, type TLSSocket } from 'node:tls';
import type { TlsSettings } from '../../src/config/settings.ts';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { Ingress } from '../../src/ingress/index.ts';
import { DEFAULT_TLS, loadTlsMaterial } from '../../src/ingress/tls/material.ts';
import { tempDir } from '../e2e/harness.ts';
import { SpyApp } from '../edge/spy-app.ts';

export interface Made {
  cert: string;
  key: string;
}

/** Runs openssl; its chatter is dropped. */
function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * A certificate and key in `dir` named `name`: RSA 2048 or ECDSA P-256, self-signed or issued
 * by `ca`, for the DNS names given; `passphrase` encrypts the key (AES-256).
 */
export function makeCert(
  dir: string,
  name: string,
  opts: {
    kind?: 'rsa' | 'ec';
    dns?: string[];
    days?: number;
    ca?: Made;
    isCa?: boolean;
    passphrase?: string;
  } = {},
): Made {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const dns = opts.dns ?? ['localhost'];
  const days = String(opts.days ?? 90);
  const newkey =
    opts.kind === 'rsa'
      ? ['-newkey', 'rsa:2048']
      : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    opts.isCa
      ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
      : `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=${dns.map((d) => `DNS:${d}`).join(',')}\n`,
  );
  const subj = `/CN=${opts.isCa ? name : dns[0]}`;
  const enc = opts.passphrase ? [] : ['-noenc'];
  if (opts.ca) {
    const csr = join(dir, `${name}.csr`);
    openssl(
      [
        'req',
        '-new',
        ...newkey,
        ...enc,
        ...pass(opts.passphrase, '-passout'),
        '-keyout',
        key,
        '-out',
        csr,
        '-subj',
        subj,
      ],
      dir,
    );
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        opts.ca.cert,
        '-CAkey',
        opts.ca.key,
        '-CAcreateserial',
        '-days',
        days,
        '-extfile',
        ext,
        '-out',
        cert,
      ],
      dir,
    );
  } else {
    openssl(
      [
        'req',
        '-x509',
        ...newkey,
        ...enc,
        ...pass(opts.passphrase, '-passout'),
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        days,
        '-subj',
        subj,
        '-extensions',
        'v3',
        '-config',
        configFile(ext),
      ],
      dir,
    );
  }
  return { cert, key };
}

function pass(p: string | undefined, flag: string): string[] {
  return p ? [flag, `pass:${p}`] : [];
}

/** A minimal openssl config whose `v3` section is the extension file. */
function configFile(ext: string): string {
  const file = `${ext}.cnf`;
  writeFileSync(file, `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${readFileSync(ext, 'utf8')}`);
  return file;
}

export interface TlsEdge {
  ingress: Ingress;
  port: number;
  spy: SpyApp;
  events: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** Starts the ingress with `tls` over the defaults (the generated pair when none is given). */
export async function startTlsEdge(
  tls: Partial<TlsSettings> = {},
  opts: { httpRedirect?: { host: string; port: number }; stateDir?: string } = {},
): Promise<TlsEdge> {
  const stateDir = opts.stateDir ?? tempDir();
  const material = await loadTlsMaterial({ stateDir, tls: { ...DEFAULT_TLS, ...tls } });
  const spy = new SpyApp();
  await spy.start();
  const events: Record<string, unknown>[] = [];
  const out = new LogOutput(
    new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) events.push(JSON.parse(line));
        cb();
      },
    }),
  );
  const upstream = { host: '127.0.0.1', port: spy.port };
  const ingress = new Ingress({
    host: '127.0.0.1',
    port: 0,
    tls: material,
    stateDir,
    ...(opts.httpRedirect ? { httpRedirect: opts.httpRedirect } : {}),
    log: new Logger(out, 'ingress'),
    upstream: () => upstream,
    whenReady: async () => upstream,
    readyTimeoutMs: 1000,
    accessLog: () => {},
  });
  await ingress.start();
  return {
    ingress,
    port: ingress.address?.port ?? 0,
    spy,
    events,
    stop: async () => {
      await ingress.stop(AbortSignal.timeout(2000));
      await spy.stop();
    },
  };
}

/** A finished handshake, or the error that ended it (never both). */
export function handshake(
  port: number,
  opts: ConnectionOptions = {},
): Promise<{ socket?: TLSSocket; error?: Error }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ error: new Error('no handshake within 10 s') });
    }, 10_000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({ socket });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      resolve({ error });
    });
  });
}

/**
 * A Kubernetes Secret volume's layout in `dir/secret`: `tls.crt` and `tls.key` link through
 * `..data` to one `..genN` directory; `swap` writes a new generation and points `..data` at it
 * at once (keeping the last three); `renameIn` renames new files into the current generation,
 * the cert a moment before the key.
 */
export function secretVolume(dir: string, first: { cert: string; key: string }) {
  const sec = join(dir, 'secret');
  mkdirSync(sec);
  let gen = 0;
  const swap = (cert: string, key: string): void => {
    gen++;
    const d = join(sec, `..gen${gen}`);
    mkdirSync(d);
    writeFileSync(join(d, 'tls.crt'), cert);
    writeFileSync(join(d, 'tls.key'), key);
    symlinkSync(`..gen${gen}`, join(sec, '..data_tmp'));
    renameSync(join(sec, '..data_tmp'), join(sec, '..data'));
    if (gen > 3) rmSync(join(sec, `..gen${gen - 3}`), { recursive: true });
  };
  const renameIn = (cert: string, key: string): void => {
    const d = join(sec, `..gen${gen}`);
    writeFileSync(join(d, 'tls.crt.tmp'), cert);
    writeFileSync(join(d, 'tls.key.tmp'), key);
    renameSync(join(d, 'tls.crt.tmp'), join(d, 'tls.crt'));
    renameSync(join(d, 'tls.key.tmp'), join(d, 'tls.key'));
  };
  swap(first.cert, first.key);
  symlinkSync(join('..data', 'tls.crt'), join(sec, 'tls.crt'));
  symlinkSync(join('..data', 'tls.key'), join(sec, 'tls.key'));
  return { cert: join(sec, 'tls.crt'), key: join(sec, 'tls.key'), swap, renameIn };
}
