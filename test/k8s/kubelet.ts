// A kubelet-like runner for one pod template of the shipped manifests, where no cluster exists.
// It runs each container's real command as a local process (Pillion's image entrypoint is the
// real CLI, bin/pillion.js; the app's command runs as written), in the kubelet's order for
// native sidecars (Kubernetes 1.29+):
//   start: each init container with restartPolicy Always is started, and the next container
//     only once its startupProbe has passed; then the app containers;
//   probes: httpGet probes polled over HTTP at the manifest's periodSeconds, for real;
//   stop: one terminationGracePeriodSeconds budget; the app containers first (preStop, then
//     SIGTERM, SIGKILL at the deadline); once they have all exited, the sidecars in reverse
//     order the same way; a Job's pod stops its sidecars once its app containers complete.
// What a pod gives that processes on one machine do not is emulated: volumes are temporary
// directories laid out as the kubelet does (`..data` links for ConfigMaps and Secrets) and
// their mount paths, like the containers' ports, are rewritten in args, env and config files
// to those directories and to ports the OS picked, on 127.0.0.1 (each held until its container
// starts, so a test running beside this one cannot take it). Pillion also gets
// `--admin 127.0.0.1:0` so it never takes the default admin port of the machine.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BIN } from '../e2e/harness.ts';
import type { Obj } from './manifests.ts';

export interface Event {
  /** ms since the runner was made. */
  t: number;
  container: string;
  what: string;
}

export interface Running {
  name: string;
  spec: Obj;
  proc: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A timer that loses a race without keeping the test process alive after it. */
const deadlineTimer = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

/** A port free to listen on, from the OS (closed again before it is returned). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/**
 * Takes a port the OS offers for listening and keeps it until `release()`: the port becomes
 * the local end of a connection to a listener of the runner's, so nothing else can bind it (a
 * test running beside this one asking for port 0 never gets it) and a connect to it is
 * refused, as to a container port whose process has not started. The port is bound
 * explicitly: one the OS picks for an outgoing connection may be shared with other
 * connections, and could not be listened on. Released with a reset: no TIME_WAIT.
 */
async function holdPort(): Promise<{ port: number; release: () => void }> {
  const peer = createServer((s) => s.on('error', () => {}));
  await new Promise<void>((resolve, reject) => {
    peer.once('error', reject);
    peer.listen(0, '127.0.0.1', resolve);
  });
  const a = peer.address();
  const peerPort = typeof a === 'object' && a ? a.port : 0;
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    const held = connect({
      port: peerPort,
      host: '127.0.0.1',
      localAddress: '127.0.0.1',
      localPort: port,
    });
    const err = await new Promise<Error | undefined>((resolve) => {
      held.once('error', resolve);
      held.once('connect', () => resolve(undefined));
    });
    if (err) {
      // Taken between the listen and the bind: another port.
      if (tries < 10) continue;
      peer.close();
      throw err;
    }
    held.on('error', () => {});
    return {
      port,
      release: () => {
        held.resetAndDestroy();
        peer.close();
      },
    };
  }
}

/** One GET; the status, or 0 when nothing answered (refused, reset, timed out). */
export async function httpStatus(url: string, timeoutMs = 1000): Promise<number> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return 0;
  }
}

/** One GET over HTTPS on a fresh connection, the certificate not verified. */
export function httpsGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { rejectUnauthorized: false, agent: false, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

export class Kubelet {
  readonly events: Event[] = [];
  readonly containers = new Map<string, Running>();
  /** Container port → the port the OS gave for it. */
  readonly ports = new Map<number, number>();
  /** Container port → its hold, released just before its container starts. */
  readonly #holds = new Map<number, () => void>();
  readonly #t0 = performance.now();
  readonly #spec: Obj;
  readonly #objects: Obj[];
  readonly #dirs = new Map<string, string>();
  readonly #root = mkdtempSync(join(tmpdir(), 'pillion-kubelet-'));

  /** `objects`: the rendered manifests, where the pod's ConfigMaps and Secrets are found. */
  constructor(podSpec: Obj, objects: Obj[]) {
    this.#spec = podSpec;
    this.#objects = objects;
  }

  get spec(): Obj {
    return this.#spec;
  }

  #log(container: string, what: string): void {
    this.events.push({ t: Math.round(performance.now() - this.#t0), container, what });
  }

  /** When an event happened (ms), or throws if it did not. */
  at(container: string, what: string | RegExp): number {
    const e = this.events.find(
      (e) =>
        e.container === container &&
        (typeof what === 'string' ? e.what === what : what.test(e.what)),
    );
    if (!e) throw new Error(`no event ${what} of ${container}: ${JSON.stringify(this.events)}`);
    return e.t;
  }

  /** The host URL of a container's port (a number or a port name of that container). */
  url(container: Obj, port: number | string, path: string, scheme = 'http'): string {
    const n =
      typeof port === 'number'
        ? port
        : container.ports.find((p: Obj) => p.name === port).containerPort;
    return `${scheme}://127.0.0.1:${this.ports.get(n)}${path}`;
  }

  async #prepare(): Promise<void> {
    const all = [...(this.#spec.initContainers ?? []), ...this.#spec.containers];
    for (const c of all)
      for (const p of c.ports ?? []) {
        const h = await holdPort();
        this.ports.set(p.containerPort, h.port);
        this.#holds.set(p.containerPort, h.release);
      }
    for (const v of this.#spec.volumes ?? []) {
      const dir = join(this.#root, v.name);
      mkdirSync(dir);
      this.#dirs.set(v.name, dir);
    }
  }

  /** Rewrites mount paths of `c` and the pod's ports in one string. */
  #rewrite(c: Obj, s: string): string {
    let out = s
      .replaceAll('0.0.0.0:', '127.0.0.1:')
      .replace(/(?<![\d.])(\d{2,5})(?!\d)/g, (n) => String(this.ports.get(Number(n)) ?? n));
    // Longest first, whole path segments only: /etc/pillion must not rewrite /etc/pillion-tls.
    const mounts = [...(c.volumeMounts ?? [])].sort(
      (a, b) => b.mountPath.length - a.mountPath.length,
    );
    for (const m of mounts) {
      const at = new RegExp(
        `${m.mountPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=/|$|[\\s"'])`,
        'gm',
      );
      out = out.replace(at, this.#dirs.get(m.name) as string);
    }
    return out;
  }

  /** Fills a container's ConfigMap and Secret volumes as the kubelet does, rewritten for it. */
  #fill(c: Obj): void {
    for (const m of c.volumeMounts ?? []) {
      const v = (this.#spec.volumes as Obj[]).find((x) => x.name === m.name) as Obj;
      const src = v.configMap
        ? this.#find('ConfigMap', v.configMap.name)
        : v.secret
          ? this.#find('Secret', v.secret.secretName)
          : undefined;
      if (!src) continue; // an emptyDir: stays empty
      const dir = this.#dirs.get(m.name) as string;
      const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}`;
      mkdirSync(join(dir, stamp), { recursive: true });
      for (const [key, value] of Object.entries(src.data ?? {})) {
        const text = v.secret
          ? Buffer.from(String(value), 'base64').toString('utf8')
          : String(value);
        writeFileSync(join(dir, stamp, key), v.configMap ? this.#rewrite(c, text) : text, {
          mode: v.secret ? 0o400 : 0o644,
        });
        symlinkSync(join('..data', key), join(dir, key));
      }
      symlinkSync(stamp, join(dir, '..data'));
    }
  }

  #find(kind: string, name: string): Obj {
    const o = this.#objects.find((x) => x.kind === kind && x.metadata.name === name);
    if (!o) throw new Error(`the pod mounts ${kind}/${name}, which the manifests do not define`);
    return o;
  }

  #start(c: Obj): Running {
    this.#fill(c);
    for (const p of c.ports ?? []) this.#release(p.containerPort);
    const pillion = /(^|\/)pillion:/.test(c.image);
    // The image's entrypoint (tini -- pillion) is the real CLI here; tini's part is the
    // image test's (npm run test:image).
    const entry = c.command ?? (pillion ? [process.execPath, BIN] : []);
    const args = [...(c.args ?? [])];
    if (pillion && args[0] === 'run') args.splice(1, 0, '--admin', '127.0.0.1:0');
    const [cmd, ...rest] = [...entry, ...args].map((s: string) => this.#rewrite(c, s));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: this.#root };
    for (const e of c.env ?? []) env[e.name] = this.#rewrite(c, e.value);
    const proc = spawn(cmd, rest, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd: this.#root });
    const lines: string[] = [];
    for (const s of [proc.stdout, proc.stderr])
      createInterface({ input: s as NonNullable<typeof s> }).on('line', (l) => lines.push(l));
    const r: Running = {
      name: c.name,
      spec: c,
      proc,
      lines,
      exited: new Promise((resolve) =>
        proc.once('close', (code, signal) => {
          r.exit = { code, signal };
          this.#log(c.name, `exited ${code ?? signal}`);
          resolve(r.exit);
        }),
      ),
    };
    this.containers.set(c.name, r);
    this.#log(c.name, 'started');
    return r;
  }

  async #probe(
    c: Obj,
    kind: 'startupProbe' | 'readinessProbe' | 'livenessProbe',
  ): Promise<boolean> {
    const p = c[kind];
    const port = p.httpGet.port;
    const code = await httpStatus(
      this.url(c, port, p.httpGet.path),
      (p.timeoutSeconds ?? 1) * 1000,
    );
    return code >= 200 && code < 400;
  }

  /**
   * Starts the pod: sidecars one by one, each past its startupProbe, then the app containers
   * (`beforeApps` runs between, while no app container exists).
   */
  async start(opts: { beforeApps?: () => Promise<void> } = {}): Promise<void> {
    await this.#prepare();
    for (const c of this.#spec.initContainers ?? []) {
      if (c.restartPolicy !== 'Always')
        throw new Error(`${c.name}: plain init containers are not run`);
      const r = this.#start(c);
      if (c.startupProbe) {
        const period = (c.startupProbe.periodSeconds ?? 10) * 1000;
        const tries = c.startupProbe.failureThreshold ?? 3;
        let ok = false;
        for (let i = 0; i < tries && !ok && r.exit === undefined; i++) {
          await sleep(i === 0 ? (c.startupProbe.initialDelaySeconds ?? 0) * 1000 : period);
          ok = await this.#probe(c, 'startupProbe');
          this.#log(c.name, `startupProbe ${ok ? 'passed' : 'failed'}`);
        }
        if (!ok) throw new Error(`${c.name}: startupProbe never passed: ${r.lines.join('\n')}`);
      }
    }
    await opts.beforeApps?.();
    for (const c of this.#spec.containers) this.#start(c);
  }

  /** Polls a container's readinessProbe at its period until it passes (or `ms` passes). */
  async ready(name: string, ms = 30_000): Promise<number> {
    const c = this.containers.get(name)?.spec as Obj;
    const period = (c.readinessProbe.periodSeconds ?? 10) * 1000;
    const end = performance.now() + ms;
    for (;;) {
      if (await this.#probe(c, 'readinessProbe')) {
        this.#log(name, 'ready');
        return this.at(name, 'ready');
      }
      if (performance.now() > end) throw new Error(`${name} not ready after ${ms} ms`);
      await sleep(period);
    }
  }

  async #stop(r: Running, deadline: number): Promise<void> {
    if (r.exit) return;
    const pre = r.spec.lifecycle?.preStop;
    if (pre) {
      if (!pre.sleep) throw new Error(`${r.name}: only the sleep preStop is run here`);
      this.#log(r.name, 'preStop');
      await Promise.race([deadlineTimer(pre.sleep.seconds * 1000), r.exited]);
    }
    if (r.exit) return;
    this.#log(r.name, 'SIGTERM');
    r.proc.kill('SIGTERM');
    const left = deadline - performance.now();
    const killed = await Promise.race([
      r.exited.then(() => false),
      deadlineTimer(Math.max(0, left)).then(() => true),
    ]);
    if (killed) {
      this.#log(r.name, 'SIGKILL (grace period over)');
      r.proc.kill('SIGKILL');
      await r.exited;
    }
  }

  /**
   * Deletes the pod: one grace period; the app containers first (in parallel), then the
   * sidecars in reverse order, each after the last has exited.
   */
  async terminate(): Promise<void> {
    this.#log('pod', 'deleted');
    const grace = (this.#spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const deadline = performance.now() + grace;
    await Promise.all(
      this.#spec.containers.map((c: Obj) =>
        this.#stop(this.containers.get(c.name) as Running, deadline),
      ),
    );
    await this.#stopSidecars(deadline);
    this.#log('pod', 'gone');
  }

  /** A Job's pod: once every app container has exited by itself, the sidecars are stopped. */
  async complete(ms = 60_000): Promise<'Succeeded' | 'Failed'> {
    const apps: Running[] = this.#spec.containers.map((c: Obj) => this.containers.get(c.name));
    const all = Promise.all(apps.map((r) => r.exited));
    const done = await Promise.race([all.then(() => true), deadlineTimer(ms).then(() => false)]);
    if (!done) throw new Error(`the app containers did not complete in ${ms} ms`);
    this.#log('pod', 'app containers completed');
    const grace = (this.#spec.terminationGracePeriodSeconds ?? 30) * 1000;
    await this.#stopSidecars(performance.now() + grace);
    return apps.every((r) => r.exit?.code === 0) ? 'Succeeded' : 'Failed';
  }

  async #stopSidecars(deadline: number): Promise<void> {
    for (const c of [...(this.#spec.initContainers ?? [])].reverse())
      await this.#stop(this.containers.get(c.name) as Running, deadline);
  }

  /** Kills whatever still runs and removes the volumes. */
  #release(containerPort: number): void {
    this.#holds.get(containerPort)?.();
    this.#holds.delete(containerPort);
  }

  cleanup(): void {
    for (const p of [...this.#holds.keys()]) this.#release(p);
    for (const r of this.containers.values()) if (!r.exit) r.proc.kill('SIGKILL');
    rmSync(this.#root, { recursive: true, force: true });
  }
}
