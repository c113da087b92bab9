// The image, built by scripts/test-image.sh, run as a sidecar: an app container and the
// Pillion container in one podman pod (one network namespace, the host's here: ports from the
// OS), Pillion in attach mode with the shipped deploy/base/pillion.yaml and a certificate
// mounted like the Secret. HTTPS through Pillion to the app; Pillion not root; a read-only
// root filesystem with the state dir on the image's volume; JSON logs on stdout; SIGTERM to
// the pod drains a request in flight and each container exits with its code. Then one
// container with Pillion running the app itself exits with the app's code on `podman stop`.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, get, IMAGE, LIMITS, podman, podmanOk, until } from './podman.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test', 'fixtures');
const APP_EXIT = 3;

if (!IMAGE) throw new Error('IMAGE is not set: run this through npm run test:image');

/** A self-signed pair laid out as a mounted `kubernetes.io/tls` Secret. */
function secretDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-image-tls-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
    ...['-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '2'],
    ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
  ]);
  // The container's user reads it, as with a Secret's defaultMode 0440 and fsGroup.
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  return dir;
}

/** Pillion's JSON lines from a container's stdout; a line that is not JSON fails the test. */
async function jsonLogs(name: string): Promise<Record<string, unknown>[]> {
  const out = await podmanOk(['logs', name]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`a log line of ${name} is not JSON: ${line}`);
      }
    });
}

const exitCode = async (name: string): Promise<number> =>
  Number((await podmanOk(['inspect', '--format', '{{.State.ExitCode}}', name])).trim());

test('the image: its user, entrypoint, health check and labels', async () => {
  const [info] = JSON.parse(await podmanOk(['image', 'inspect', IMAGE]));
  assert.equal(info.Config.User, '10001:10001');
  assert.deepEqual(info.Config.Entrypoint, ['/usr/bin/tini', '--', 'pillion']);
  assert.match(info.Healthcheck.Test.join(' '), /healthz/);
  assert.equal(info.Config.Labels['org.opencontainers.image.title'], 'pillion');
  assert.match(info.Config.Labels['org.opencontainers.image.version'], /^\d+\.\d+\.\d+/);
  assert.ok(info.Config.Env.includes('PILLION_STATE_DIR=/var/lib/pillion'));
  console.log(`# ${IMAGE}: ${Math.round(info.Size / 1e6)} MB`);
  const v = await podmanOk(['run', '--rm', ...LIMITS, '--read-only', IMAGE, '--version']);
  assert.match(v, /^pillion \d+\.\d+\.\d+/);
});

test('in a pod beside an app container: HTTPS through Pillion, non-root, read-only, JSON logs, and SIGTERM drains', async (t) => {
  const pod = `pillion-test-${process.pid}`;
  const [https, app, probes] = [await freePort(), await freePort(), await freePort()];
  const tls = secretDir();
  t.after(async () => {
    await podman(['rm', '--force', '--volumes', `${pod}-pillion`, `${pod}-app`]);
    await podman(['pod', 'rm', '--force', pod]);
  });
  await podmanOk(['pod', 'create', '--name', pod, '--network', 'host']);
  await podmanOk([
    ...['run', '--detach', '--pod', pod, '--name', `${pod}-app`, ...LIMITS, '--read-only'],
    ...['--user', '10001:10001', '--env', `APP_EXIT_CODE=${APP_EXIT}`],
    ...['--volume', `${FIXTURES}:/app:ro`, '--entrypoint', 'node', IMAGE],
    ...['/app/graceful-app.ts', String(app)],
  ]);
  await podmanOk([
    ...['run', '--detach', '--pod', pod, '--name', `${pod}-pillion`, ...LIMITS],
    // As Kubernetes' readOnlyRootFilesystem: /tmp, /run and /var/tmp read-only too (podman
    // mounts a tmpfs there unless told not to).
    ...['--read-only', '--read-only-tmpfs=false', '--cap-drop', 'ALL'],
    ...['--security-opt', 'no-new-privileges'],
    ...['--volume', `${join(ROOT, 'deploy', 'base')}:/etc/pillion:ro`],
    ...['--volume', `${tls}:/etc/pillion-tls:ro`],
    ...['--env', `PILLION_HEALTHCHECK_URL=http://127.0.0.1:${probes}/healthz`, IMAGE],
    ...['run', '--config', '/etc/pillion/pillion.yaml', '--listen', `127.0.0.1:${https}`],
    ...['--app-port', String(app), '--probes', `127.0.0.1:${probes}`, '--admin', '127.0.0.1:0'],
  ]);
  const pillion = `${pod}-pillion`;

  const hello = await until('HTTPS through Pillion', 60_000, async () => {
    const r = await get(`https://127.0.0.1:${https}/`);
    return r.status === 200 ? r : undefined;
  });
  assert.match(hello.body, /^hello from the app, pid \d+\n$/);

  // Not root: every process of the Pillion container (tini, Pillion) runs as the image's user.
  const top = await podmanOk(['top', pillion, 'user', 'args']);
  const procs = top.trim().split('\n').slice(1);
  assert.ok(
    procs.some((p) => /pillion/.test(p)),
    top,
  );
  for (const p of procs) assert.match(p, /^(pillion|10001)\s/, top);

  // The root filesystem is read-only; the state dir (the image's volume) is writable.
  for (const path of ['/opt/pillion/x', '/tmp/x']) {
    const ro = await podman(['exec', pillion, 'touch', path]);
    assert.notEqual(ro.code, 0, path);
    assert.match(ro.stderr, /Read-only file system/);
  }
  assert.equal((await podman(['exec', pillion, 'touch', '/var/lib/pillion/x'])).code, 0);
  const inspect = JSON.parse(await podmanOk(['inspect', pillion]))[0];
  assert.equal(inspect.HostConfig.ReadonlyRootfs, true);

  // The probe listener, and the image's HEALTHCHECK on its /healthz.
  assert.equal((await get(`http://127.0.0.1:${probes}/readyz`)).status, 200);
  assert.equal((await get(`http://127.0.0.1:${probes}/healthz`)).status, 200);
  const hc = await podman(['healthcheck', 'run', pillion]);
  assert.equal(hc.code, 0, `healthcheck: ${hc.stdout}${hc.stderr}`);
  // The admin token was generated into the state dir, the one writable place.
  const token = await podman([
    'exec',
    pillion,
    'stat',
    '-c',
    '%a %u',
    '/var/lib/pillion/admin-token',
  ]);
  assert.equal(token.stdout.trim(), '600 10001', token.stderr);

  // SIGTERM to the pod while a request is in flight: both containers drain it, it succeeds.
  const slow = get(`https://127.0.0.1:${https}/slow?ms=2000`, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  const stopped = podmanOk(['pod', 'stop', '--time', '30', pod], 60_000);
  const reply = await slow;
  assert.equal(reply.status, 200);
  assert.equal(reply.body, 'slept 2000\n');
  await stopped;
  assert.equal(await exitCode(`${pod}-app`), APP_EXIT, 'the app exits with its own code');
  assert.equal(await exitCode(pillion), 0, 'attach mode: Pillion exits 0 after its drain');

  const lines = await jsonLogs(pillion);
  const msgs = lines.map((l) => l.msg);
  assert.ok(msgs.includes('attached to an app Pillion did not start'), msgs.join('\n'));
  assert.ok(
    lines.some((l) => l.source === 'access' && /^\/slow/.test(String(l.path)) && l.status === 200),
    msgs.join('\n'),
  );
  assert.ok(msgs.includes('stop signal received; draining'), msgs.join('\n'));
  const appLog = await podmanOk(['logs', `${pod}-app`]);
  assert.match(appLog, /app: SIGTERM with \d request\(s\) in flight/);
});

test('one container, Pillion running the app: podman stop drains and exits with the app code', async (t) => {
  const name = `pillion-test-${process.pid}-one`;
  const https = await freePort();
  t.after(async () => {
    await podman(['rm', '--force', '--volumes', name]);
  });
  await podmanOk([
    ...['run', '--detach', '--name', name, '--network', 'host', ...LIMITS, '--read-only'],
    ...['--env', `APP_EXIT_CODE=${APP_EXIT}`, '--volume', `${FIXTURES}:/app:ro`, IMAGE],
    ...['run', '--listen', `127.0.0.1:${https}`, '--admin', '127.0.0.1:0'],
    ...['--', 'node', '/app/graceful-app.ts'],
  ]);
  await until('HTTPS through Pillion', 60_000, async () =>
    (await get(`https://127.0.0.1:${https}/`)).status === 200 ? true : undefined,
  );
  // tini is PID 1 and Pillion its child: the generated certificate went to the state volume.
  const top = await podmanOk(['top', name, 'pid', 'args']);
  assert.match(top, /^\s*1\s+\/usr\/bin\/tini -- pillion run/m, top);
  const slow = get(`https://127.0.0.1:${https}/slow?ms=1500`, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  await podmanOk(['stop', '--time', '30', name], 60_000);
  assert.equal((await slow).status, 200);
  assert.equal(await exitCode(name), APP_EXIT);
  const msgs = (await jsonLogs(name)).map((l) => l.msg);
  assert.ok(msgs.includes('stop signal received; draining'), msgs.join('\n'));
  assert.ok(msgs.includes('app exited'), msgs.join('\n'));
});
