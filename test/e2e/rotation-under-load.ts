// S4's run, shared by its end-to-end test and bench/tls-rotation.ts: `pillion run` serves a
// Kubernetes Secret volume's pair (an encrypted key, its passphrase in a file) while an
// open-loop load sends requests at a fixed rate over HTTP/1.1 and HTTP/2, fresh connections and
// kept ones; the pair is rotated again and again (most as a `..data` symlink swap, every fifth
// as renames into place), with torn writes between (a key that is not the cert's, a PEM cut
// short, a key sealed with another passphrase). It reports, and the callers judge.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as h2Connect } from 'node:http2';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { handshake, makeCert, secretVolume } from '../tls/tls-harness.ts';
import { type Scrape, scrape } from './admin-client.ts';
import {
  APP_CMD,
  configFile,
  h1Request,
  h2Request,
  type LogLine,
  startPillion,
  tempDir,
} from './harness.ts';

export interface RotationOptions {
  rotations: number;
  /** Torn writes, spread evenly between the rotations. */
  torn: number;
  /** Requests a second, on a fixed schedule whatever the answers take (open loop). */
  rate: number;
  /** The whole run ends by then, done or not (a bound on the run, not a figure). */
  maxSeconds: number;
  /**
   * At most this many requests unanswered at once (default: 20 s of the schedule); a request
   * beyond it counts as failed. Below it, requests the server is slow to take wait in the
   * clients' queues, sent on schedule all the same.
   */
  maxInFlight?: number;
}

export interface RotationResult {
  /** Requests the schedule called for, and those answered 200. */
  scheduled: number;
  answered: number;
  /** Every request or handshake that failed, and every check that did not hold. */
  failures: string[];
  /** Per rotation, ms from the file swap to the end of the first handshake serving its cert. */
  lagsMs: number[];
  /** How each rotation was written: a `..data` symlink swap, or renames into place. */
  lagKinds: ('swap' | 'rename')[];
  /** Rotations whose certificate was served (all of them, unless the run ran out of time). */
  rotationsServed: number;
  /** The log lines of the torn writes, and what each write was. */
  tornLines: LogLine[];
  tornKinds: TornKind[];
  /** Requests answered on the session kept open since the start, after the last rotation. */
  keptAfterLast: number;
  /** Most ms a request was sent after its slot in the schedule. */
  maxLateMs: number;
  /** Seconds the schedule ran, and the whole run's (with the wait for the last answers). */
  loadSeconds: number;
  seconds: number;
  /** /metrics at the end. */
  metrics: Scrape;
}

export type TornKind = 'mismatched key' | 'truncated PEM' | 'wrong passphrase';
const TORN_KINDS: TornKind[] = ['mismatched key', 'truncated PEM', 'wrong passphrase'];
const PASSPHRASE = 'rotation-passphrase';
const FAILED_MSG = 'TLS certificate files not reloaded; the last good ones stay';
/** One request in this many opens a fresh HTTP/2 session (a new handshake). */
const H2_RENEW_EVERY = 50;

/** Runs S4 once against a fresh `pillion run`; stops it before returning. */
export async function rotateUnderLoad(o: RotationOptions): Promise<RotationResult> {
  const dir = tempDir();
  const maxInFlight = o.maxInFlight ?? o.rate * 20;
  const certs = [0, 1, 2, 3].map((i) => makeCert(dir, `gen${i}`, { dns: ['localhost'] }));
  const fp = certs.map((c) => new X509Certificate(readFileSync(c.cert)).fingerprint256);
  const seal = (keyFile: string, passphrase: string): string =>
    createPrivateKey(readFileSync(keyFile)).export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase,
    }) as string;
  const text = certs.map((c) => ({
    cert: readFileSync(c.cert, 'utf8'),
    key: seal(c.key, PASSPHRASE),
    wrongKey: seal(c.key, `not-${PASSPHRASE}`),
  }));
  const { cert, key, swap, renameIn } = secretVolume(dir, text[0]);
  const passFile = join(dir, 'tls.pass');
  writeFileSync(passFile, `${PASSPHRASE}\n`);
  const config = configFile([
    'ingress:',
    '  tls:',
    `    cert: ${cert}`,
    `    key: ${key}`,
    `    passphrase: { file: ${passFile} }`,
  ]);
  const p = startPillion(['run', '--config', config, '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  const failures: string[] = [];
  const deadline = Date.now() + o.maxSeconds * 1000;
  const fresh = new Agent({ keepAlive: false, maxSockets: 32, rejectUnauthorized: false });
  const pooled = new Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false });
  const sessions: ClientHttp2Session[] = [];
  try {
    const port = await p.port();
    await p.ready();
    const admin = await p.admin();

    const open = (): ClientHttp2Session => {
      const s = h2Connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
      s.on('error', (err) => failures.push(`h2 session ${err}`));
      sessions.push(s);
      return s;
    };
    // Kept for the whole run: an existing connection across every rotation.
    const kept = open();
    let renewed = open();
    let onRenewed = 0;
    /** The session to renew to, once its SETTINGS came: requests queued on a session that has
     * not settled yet would go out in one burst, past the server's stream limit. */
    let next: ClientHttp2Session | undefined;
    /** Streams unanswered per renewed session: one is closed only once it has none, since
     * closing it would refuse the streams still queued client-side past its stream limit. */
    const streamsOf = new Map<ClientHttp2Session, number>();
    const retired = new Set<ClientHttp2Session>();
    const retire = (s: ClientHttp2Session): void => {
      if (streamsOf.get(s)) retired.add(s);
      else s.close();
    };
    const onSession = (s: ClientHttp2Session): Promise<{ status: number }> => {
      streamsOf.set(s, (streamsOf.get(s) ?? 0) + 1);
      const done = (): void => {
        const left = (streamsOf.get(s) ?? 1) - 1;
        streamsOf.set(s, left);
        if (left === 0 && retired.delete(s)) {
          streamsOf.delete(s);
          s.close();
        }
      };
      const r = h2Request(s, '/');
      r.then(done, done);
      return r;
    };

    let scheduled = 0;
    let answered = 0;
    let inFlight = 0;
    let maxLateMs = 0;
    let rotationsDone = 0;
    let keptAfterLast = 0;
    const send = (slot: number): void => {
      scheduled++;
      if (inFlight >= maxInFlight) {
        failures.push(`request ${slot} not sent: ${inFlight} unanswered`);
        return;
      }
      inFlight++;
      // Four clients in turn: h1 on a fresh connection, h1 kept alive, h2 on the session kept
      // since the start, h2 on a session renewed every H2_RENEW_EVERY of its requests.
      const which = slot % 4;
      let reply: Promise<{ status: number }>;
      if (which === 0) reply = h1Request(port, '/', { agent: fresh });
      else if (which === 1) reply = h1Request(port, '/', { agent: pooled });
      else if (which === 2) reply = h2Request(kept, '/');
      else {
        if (++onRenewed % H2_RENEW_EVERY === 0 && !next) {
          const n = open();
          next = n;
          n.once('remoteSettings', () => {
            retire(renewed);
            renewed = n;
            next = undefined;
          });
        }
        reply = onSession(renewed);
      }
      const name = ['h1 fresh', 'h1 kept', 'h2 kept', 'h2 renewed'][which];
      reply.then(
        (r) => {
          inFlight--;
          if (r.status !== 200) failures.push(`${name} status ${r.status}`);
          else {
            answered++;
            if (which === 2 && rotationsDone === o.rotations) keptAfterLast++;
          }
        },
        (err) => {
          inFlight--;
          failures.push(`${name} ${err}`);
        },
      );
    };
    // The schedule: slot k is due at start + k / rate; each tick sends every slot now due.
    const start = performance.now();
    const maxRequests = Math.ceil(o.rate * o.maxSeconds);
    let loadDone = false;
    const ticker = setInterval(() => {
      const due = Math.min(maxRequests, Math.floor(((performance.now() - start) * o.rate) / 1000));
      while (!loadDone && scheduled < due) {
        maxLateMs = Math.max(maxLateMs, performance.now() - start - (scheduled * 1000) / o.rate);
        send(scheduled);
      }
    }, 5);

    const served = async (): Promise<string> => {
      const h = await handshake(port, { servername: 'localhost' });
      if (!h.socket) {
        failures.push(`probe handshake ${h.error}`);
        return '';
      }
      const got = h.socket.getPeerX509Certificate()?.fingerprint256 ?? '';
      // Ended, not destroyed: a reset right after the handshake reaches the server as a failed
      // one (ECONNRESET) when its side has not read the client's Finished yet.
      h.socket.end();
      return got;
    };
    const waitUntil = async (check: () => Promise<boolean> | boolean, what: string) => {
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`the run ended waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const failedLines = (): LogLine[] => p.lines.filter((l) => l.msg === FAILED_MSG);

    const lagsMs: number[] = [];
    const lagKinds: ('swap' | 'rename')[] = [];
    const tornKinds: TornKind[] = [];
    let current = 0;
    try {
      for (let i = 1; i <= o.rotations; i++) {
        if (o.torn > 0 && i % Math.floor(o.rotations / o.torn) === 0 && tornKinds.length < o.torn) {
          const kind = TORN_KINDS[tornKinds.length % TORN_KINDS.length] as TornKind;
          tornKinds.push(kind);
          const other = (current + 1) % 4;
          const before = failedLines().length;
          if (kind === 'mismatched key') swap(text[other].cert, text[current].key);
          else if (kind === 'truncated PEM') swap(text[other].cert.slice(0, 300), text[other].key);
          else swap(text[other].cert, text[other].wrongKey);
          await waitUntil(() => failedLines().length === before + 1, `torn write ${i} (${kind})`);
          const still = await served();
          if (still !== fp[current]) failures.push(`after torn write ${i} (${kind}): ${still}`);
        }
        const next = (current + 1) % 4;
        const t0 = performance.now();
        if (i % 5 === 0) renameIn(text[next].cert, text[next].key);
        else swap(text[next].cert, text[next].key);
        await waitUntil(async () => (await served()) === fp[next], `rotation ${i}`);
        lagsMs.push(performance.now() - t0);
        lagKinds.push(i % 5 === 0 ? 'rename' : 'swap');
        current = next;
        rotationsDone = i;
      }
      // Some requests on the kept session after the last rotation.
      await waitUntil(() => keptAfterLast >= 10, 'requests on the kept session');
    } catch (err) {
      failures.push(String(err));
    }
    loadDone = true;
    clearInterval(ticker);
    const loadSeconds = (performance.now() - start) / 1000;
    await waitUntil(() => inFlight === 0, 'the last answers').catch((err) =>
      failures.push(`${err} (${inFlight} unanswered)`),
    );
    const seconds = (performance.now() - start) / 1000;
    const metrics = await scrape(admin);
    p.proc.kill('SIGTERM');
    const code = await p.exited;
    if (code !== 0) failures.push(`pillion exited ${code}`);
    return {
      scheduled,
      answered,
      failures,
      lagsMs,
      lagKinds,
      rotationsServed: rotationsDone,
      tornLines: failedLines(),
      tornKinds,
      keptAfterLast,
      maxLateMs,
      loadSeconds,
      seconds,
      metrics,
    };
  } finally {
    for (const s of sessions) s.destroy();
    fresh.destroy();
    pooled.destroy();
    p.kill();
  }
}

/** The p-th quantile of `xs` (0..1), NaN when empty. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? Number.NaN;
}
