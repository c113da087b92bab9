// The TLS side of the listener: one tls.Server holding the policy and the certificates, fed
// connections by the listener (plain-http.ts peeks first). Certificates are chosen by SNI,
// swapped whole on a reload or a file change, and the session ticket key is rotated.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  createSecureContext,
  createServer,
  type SecureContext,
  type SecureContextOptions,
  type TLSSocket,
  type Server as TlsServer,
} from 'node:tls';
import type { TlsSettings } from '../../config/settings.ts';
import type { Prepared } from '../../core/concern.ts';
import { ErrorCode, PillionError } from '../../core/errors.ts';
import { contentKey, FileWatch } from '../../core/file-watch.ts';
import type { Logger } from '../../core/log.ts';
import { selfSignedPair } from '../self-signed.ts';
import { ClientAuth } from './client-auth.ts';
import { takesEcdsa } from './client-hello.ts';
import { type ServedCertificate, servedCertificates, warnExpiring } from './expiry.ts';
import type { HandshakeDeadline } from './handshake-deadline.ts';
import { type LoadedPair, loadTlsMaterial, type TlsMaterial } from './material.ts';
import { checkPolicy, policyOptions } from './policy.ts';

/** Counters of the certificate reloads, for the metrics concern (Ingress.tlsStats). */
export interface TlsStats {
  /** Certificate sets put in force after a file change or a config reload. */
  reloads: number;
  /** File changes whose files could not be served (torn write, mismatch, wrong passphrase). */
  reloadFailures: number;
  /** SNI lookups that threw (answered with the default certificate). */
  sniErrors: number;
  ticketKeyRotations: number;
}

/** How long a failed read waits for the rest of a rotation (the key renamed after the cert). */
const TORN_RETRY_MS = 250;
const TORN_RETRIES = 4;
/** Expiry is looked at again this often, besides at every load. */
const EXPIRY_CHECK_MS = 12 * 3600 * 1000;

export interface TerminatorOptions {
  material: TlsMaterial;
  stateDir: string;
  log: Logger;
  /** A connection whose handshake finished. */
  secure: (socket: TLSSocket) => void;
  /** A handshake that failed. */
  clientError: (err: NodeJS.ErrnoException, socket: Socket) => void;
}

/** The SNI lookup as Node calls it: a lookup that throws answers with the default context. */
export function safeSni(
  lookup: (name: string, socket: TLSSocket) => SecureContext | undefined,
  failed: (err: unknown) => void,
): (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void {
  // Node calls it with the TLS socket as `this`.
  return function (this: TLSSocket, name, cb) {
    let ctx: SecureContext | undefined;
    try {
      ctx = lookup(name, this);
    } catch (err) {
      failed(err);
    }
    cb(null, ctx);
  };
}

/** One connection until its handshake ends: its deadline, and its key type when that matters. */
interface Handshake {
  readonly deadline: HandshakeDeadline;
  /** Whether the client takes ECDSA (client-hello.ts); read only when #mixed at accept. */
  readonly ecdsa: boolean | undefined;
}

/** What a deadline that passed in the handshake is reported as: Node's own code for it. */
function handshakeTimeout(): NodeJS.ErrnoException {
  return Object.assign(new Error('TLS handshake timeout'), { code: 'ERR_TLS_HANDSHAKE_TIMEOUT' });
}

/** The accepted socket a TLS socket wraps (Node's `_parent`), for which the hello was read. */
function rawOf(tls: TLSSocket): object | undefined {
  return (tls as unknown as { _parent?: object })._parent;
}

/** A name's contexts: `rsa` is set when its pairs mix RSA and ECDSA (client-hello.ts). */
interface NameContexts {
  main: SecureContext | undefined;
  rsa: SecureContext | undefined;
}

/**
 * The certificates of `m` as secure contexts: the default's options, and those per SNI name.
 * With mTLS every one carries the client CA and its session-id context: an SNI context without
 * `ca` would verify client certificates against Node's public roots (client-auth.ts).
 */
function contextsOf(m: TlsMaterial, tlsPolicy: SecureContextOptions) {
  const policy = { ...tlsPolicy, ...m.clientAuth?.contextOptions };
  const optionsOf = (pairs: LoadedPair[]): SecureContextOptions => ({
    ...policy,
    cert: pairs.map((p) => p.cert),
    key: pairs.map((p) => p.key.export({ format: 'pem', type: 'pkcs8' }) as string),
  });
  const isRsa = (p: LoadedPair): boolean => p.key.asymmetricKeyType?.startsWith('rsa') === true;
  // The default pair serves its own names too: beside an entry of another key type for the
  // same name, both are chosen from there.
  const all = [...m.defaults.filter((p) => !m.pairs.includes(p)), ...m.pairs];
  const byName = new Map<string, LoadedPair[]>();
  for (const p of all) {
    for (const n of p.names) byName.set(n, [...(byName.get(n) ?? []), p]);
  }
  const idOf = (pairs: LoadedPair[]): string => pairs.map((p) => all.indexOf(p)).join(',');
  const defaultId = idOf(m.defaults);
  // Names served by the same pairs share their contexts.
  const shared = new Map<string, NameContexts>();
  const sni = new Map<string, NameContexts>();
  let mixed = false;
  for (const [name, pairs] of byName) {
    const id = idOf(pairs);
    let ctx = shared.get(id);
    if (!ctx) {
      const rsa = pairs.filter(isRsa);
      const other = pairs.filter((p) => !isRsa(p));
      const both = rsa.length > 0 && other.length > 0;
      mixed ||= both && id !== defaultId;
      ctx = {
        // The default pairs need no switch: without one, Node serves each client its pair.
        main: id === defaultId ? undefined : createSecureContext(optionsOf([...rsa, ...other])),
        rsa: both && id !== defaultId ? createSecureContext(optionsOf(rsa)) : undefined,
      };
      shared.set(id, ctx);
    }
    sni.set(name, ctx);
  }
  return { defaults: optionsOf(m.defaults), sni, mixed };
}

export class TlsTerminator {
  readonly server: TlsServer;
  readonly stats: TlsStats = { reloads: 0, reloadFailures: 0, sniErrors: 0, ticketKeyRotations: 0 };
  readonly #opts: TerminatorOptions;
  #material: TlsMaterial;
  #sni: Map<string, NameContexts>;
  /** Some SNI name has RSA and ECDSA pairs: each connection's ClientHello is read. */
  #mixed: boolean;
  /** Per accepted socket, until its handshake ends. */
  readonly #handshakes = new WeakMap<object, Handshake>();
  #ticketKey = randomBytes(48);
  #timers: NodeJS.Timeout[] = [];
  readonly #watch: FileWatch;
  /** Files whose bytes could not be served: not tried again until they change. */
  #badKey = '';
  /** Reloads run one at a time, file changes and config reloads alike. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: TerminatorOptions) {
    this.#opts = opts;
    const m = opts.material;
    this.#material = m;
    const s = m.settings;
    checkPolicy(s);
    const ctx = contextsOf(m, policyOptions(s));
    this.#sni = ctx.sni;
    this.#mixed = ctx.mixed;
    this.server = createServer(
      {
        ...ctx.defaults,
        // mTLS: a certificate is asked for; Ingress judges it as the handshake completes.
        ...(m.clientAuth ? ClientAuth.serverOptions : {}),
        ALPNProtocols: ['h2', 'http/1.1'],
        // The deadline from accept (handshake-deadline.ts) comes first; Node's own, which
        // starts later, when TLS takes the socket, is only a backstop.
        handshakeTimeout: s.handshakeTimeoutMs,
        SNICallback: safeSni(
          (name, socket) => this.#lookup(name, socket),
          (err) => {
            this.stats.sniErrors++;
            opts.log.error('SNI lookup failed; the default certificate was served', {
              error: (err as Error)?.message,
            });
          },
        ),
      },
      (socket: TLSSocket) => {
        this.#handshakeEnded(socket);
        opts.secure(socket);
      },
    );
    this.server.setTicketKeys(this.#ticketKey);
    this.server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      // With a listener here, Node leaves the socket open, a timed-out handshake included
      // (measured on Node 24: a half-sent ClientHello stayed open past its timeout).
      socket.destroy();
      // A deadline that passed was reported as it passed (the reset it caused comes here).
      if (this.#handshakeEnded(socket)?.deadline.expired) return;
      opts.clientError(err, socket);
    });
    this.#watch = new FileWatch({ changed: () => this.#filesChanged() });
  }

  /** Watches the certificate files, rotates the ticket key, and warns of expiry. */
  start(): void {
    const s = this.#material.settings;
    warnExpiring(this.#material, this.#opts.log);
    this.#watch.watch(this.#material.files);
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.#timers.push(t);
    };
    if (s.sessionTickets) every(s.ticketKeyRotationMs, () => this.#rotateTicketKey());
    every(EXPIRY_CHECK_MS, () => {
      warnExpiring(this.#material, this.#opts.log);
      if (this.#material.caFile) void this.#renewGenerated();
    });
  }

  close(): void {
    this.#watch.close();
    for (const t of this.#timers) clearInterval(t);
  }

  /** The certificates served now, with their expiry. */
  certificates(): ServedCertificate[] {
    return servedCertificates(this.#material);
  }

  /** The first default pair's facts, as the start line logs them. */
  get material(): TlsMaterial {
    return this.#material;
  }

  /**
   * Phase one of a reload of `ingress.tls`: reads and checks every file and builds the
   * contexts; commit puts them in force for new handshakes (connections open keep theirs).
   * The build waits its turn in the queue file changes use; the commit, called by the
   * reload transaction once every concern is prepared, runs outside it.
   */
  prepare(next: TlsSettings): Promise<Prepared> {
    const run = this.#queue.then(() => this.#build(next));
    this.#queue = run.catch(() => {});
    return run.then((built) => ({
      commit: () => {
        this.#commit(built.material, built.ctx);
        // The files were read at prepare; a rotation between then and now was put in force
        // and is undone by this commit: a look at the files at once brings it back.
        this.#filesChanged();
      },
      abort: async () => {},
    }));
  }

  async #build(next: TlsSettings) {
    const material = await loadTlsMaterial({ stateDir: this.#opts.stateDir, tls: next });
    checkPolicy(material.settings);
    return { material, ctx: contextsOf(material, policyOptions(material.settings)) };
  }

  #commit(material: TlsMaterial, ctx: ReturnType<typeof contextsOf>): void {
    // Read by Node for each new connection (tls.Server's own fields, set from its options).
    const srv = this.server as TlsServer & { requestCert: boolean; rejectUnauthorized: boolean };
    srv.requestCert = material.clientAuth !== undefined;
    srv.rejectUnauthorized = false;
    this.server.setSecureContext(ctx.defaults);
    // A new default context comes with its own ticket key: the running one is put back.
    this.server.setTicketKeys(this.#ticketKey);
    this.#sni = ctx.sni;
    this.#mixed = ctx.mixed;
    this.#material = material;
    this.#badKey = '';
    this.stats.reloads++;
    this.#watch.watch(material.files);
    warnExpiring(material, this.#opts.log);
  }

  /**
   * Hands a connection to the TLS server; `hello` is its first bytes, put back already. The
   * deadline set at accept goes on: at it, the handshake is ended wherever it is.
   */
  accept(socket: Socket, hello: Buffer, deadline: HandshakeDeadline): void {
    this.#handshakes.set(socket, { deadline, ecdsa: this.#mixed ? takesEcdsa(hello) : undefined });
    deadline.handOver(() => {
      this.#opts.clientError(handshakeTimeout(), socket);
      // The TLS socket on top sees the reset, and is destroyed in tlsClientError.
      socket.destroy();
    });
    this.server.emit('connection', socket);
  }

  /** The handshake of `tls` finished or failed: its deadline no longer applies. */
  #handshakeEnded(tls: TLSSocket): Handshake | undefined {
    const raw = rawOf(tls);
    const h = raw && this.#handshakes.get(raw);
    if (!h) return undefined;
    h.deadline.clear();
    this.#handshakes.delete(raw);
    return h;
  }

  #lookup(name: string, tls: TLSSocket): SecureContext | undefined {
    const n = name.toLowerCase();
    let entry = this.#sni.get(n);
    if (!entry) {
      const dot = n.indexOf('.');
      entry = dot > 0 ? this.#sni.get(`*${n.slice(dot)}`) : undefined;
    }
    if (!entry?.rsa) return entry?.main;
    const raw = rawOf(tls);
    return raw && this.#handshakes.get(raw)?.ecdsa === false ? entry.rsa : entry.main;
  }

  /**
   * The generated leaf is issued again by the local CA 30 days before it ends (self-signed.ts),
   * written whole by a rename: the file watch then serves it as any rotated certificate.
   */
  async #renewGenerated(): Promise<void> {
    try {
      const kept = await selfSignedPair(this.#opts.stateDir);
      if (!kept.generated) return;
      this.#opts.log.info('generated certificate renewed', { cert: kept.certFile });
      this.#filesChanged();
    } catch (err) {
      this.#opts.log.error('generated certificate not renewed; the current one stays', {
        code: err instanceof PillionError ? err.code : 'PILLION_INTERNAL',
        error: (err as Error).message,
      });
    }
  }

  #rotateTicketKey(): void {
    this.#ticketKey = randomBytes(48);
    this.server.setTicketKeys(this.#ticketKey);
    this.stats.ticketKeyRotations++;
  }

  /** A watched file may have changed: reload when its bytes differ from those in force. */
  #filesChanged(): void {
    this.#queue = this.#queue.then(() => this.#reloadFiles()).catch(() => {});
  }

  async #reloadFiles(): Promise<void> {
    this.#watch.rewatch();
    const files = this.#material.files;
    let key = contentKey(files);
    if (key === this.#material.contentKey || key === this.#badKey) return;
    for (let attempt = 0; ; attempt++) {
      try {
        const built = await this.#build(this.#material.settings);
        this.#commit(built.material, built.ctx);
        this.#opts.log.info('TLS certificates reloaded', {
          certificates: built.material.pairs.length + (built.material.settings.default ? 1 : 0),
          cert_sha256: built.material.fingerprint256,
          reloads: this.stats.reloads,
        });
        return;
      } catch (err) {
        // The rest of a rotation may still be on its way (a key renamed after its cert): a
        // failure counts only once the files have stopped changing.
        await new Promise((r) => setTimeout(r, TORN_RETRY_MS));
        const now = contentKey(files);
        if (now !== key && attempt < TORN_RETRIES) {
          key = now;
          continue;
        }
        this.#badKey = now;
        this.stats.reloadFailures++;
        this.#opts.log.error('TLS certificate files not reloaded; the last good ones stay', {
          code: ErrorCode.TLS_RELOAD_FAILED,
          cause: err instanceof PillionError ? err.code : 'PILLION_INTERNAL',
          error: (err as Error).message,
          failures: this.stats.reloadFailures,
        });
        return;
      }
    }
  }
}
