// What npm publishes: `npm pack` (which bundles dist/ in prepack), installed into a scratch
// project and globally, runs the main job from there: `pillion run -- APP` serves HTTPS, with
// one worker and with two (the workers fork dist/worker-main.js), its probe listener and
// /metrics, and `pillion --version`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { APP_CMD, h1Request, startPillion, tempDir } from './harness.ts';

const run = promisify(execFile);
const cmdline = (pid: number): string[] =>
  readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const childPids = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
// The installed bin's `#!/usr/bin/env node` finds the Node running this test first.
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` };
const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env,
    timeout: 120_000,
    maxBuffer: 16 << 20,
  });

test('the packed package installs into a project and globally, and serves HTTPS from there', async (t) => {
  const dir = tempDir();
  const packed = await npm(['pack', '--json', '--pack-destination', dir], ROOT);
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const tarball = join(dir, info.filename);
  const files = info.files.map((f) => f.path);
  assert.ok(files.includes('dist/main.js') && files.includes('dist/worker-main.js'), `${files}`);
  assert.deepEqual(
    files.filter((f) => f.endsWith('.ts')),
    [],
    'no TypeScript is published',
  );
  assert.ok(!existsSync(join(ROOT, 'dist')), 'postpack leaves no dist/ in the checkout');

  const project = join(dir, 'project');
  await run('mkdir', [project]);
  writeFileSync(join(project, 'package.json'), '{"name":"scratch","private":true}\n');
  await npm(['install', '--prefer-offline', tarball], project);
  const global = join(dir, 'global');
  await npm(['install', '-g', '--prefer-offline', '--prefix', global, tarball], dir);
  const local = join(project, 'node_modules', '.bin', 'pillion');
  const installed = join(global, 'bin', 'pillion');
  assert.ok(!existsSync(join(global, 'lib', 'node_modules', 'pillion', 'src')));

  // A config file: the YAML loader and the schema come from the bundle too.
  const config = join(dir, 'pillion.yaml');
  writeFileSync(config, 'drain:\n  timeout: 5s\nlogs:\n  format: json\n');
  for (const exe of [local, installed]) {
    const v = await run(exe, ['--version'], { env });
    assert.equal(v.stdout, `pillion ${VERSION}\n`);
    const ok = await run(exe, ['validate', config], { env });
    assert.equal(ok.stderr, '');
  }

  for (const [exe, workers] of [
    [local, '1'],
    [installed, '2'],
  ] as const) {
    const p = startPillion(
      [
        ...['run', '--config', config, '--listen', '127.0.0.1:0', '--probes', '127.0.0.1:0'],
        ...['--workers', workers],
        ...['--', ...APP_CMD],
      ],
      { exe, env },
    );
    t.after(() => p.kill());
    const listening = await p.waitForLog(
      (l) => l.msg === 'ingress listening' || l.msg === 'workers listening',
      'the HTTPS listener',
    );
    const admin = await p.waitForLog((l) => l.msg === 'admin listening', 'admin listening');
    await p.ready();
    // The bin's first line gives Node its heap option; forked workers inherit it.
    const pid = p.proc.pid as number;
    const tree = [
      pid,
      ...childPids(pid).filter((c) => cmdline(c).some((a) => a.endsWith('worker-main.js'))),
    ];
    assert.equal(tree.length, workers === '2' ? 3 : 1, `${tree.map((c) => cmdline(c).join(' '))}`);
    for (const c of tree)
      assert.ok(cmdline(c).includes('--max-semi-space-size=4'), `${cmdline(c)}`);
    const reply = await h1Request(Number(listening.port), '/');
    assert.equal(reply.status, 200);
    assert.match(reply.body, /^hello from \d+\n$/);
    await p.waitForLog((l) => l.source === 'access' && l.status === 200, 'the access line');
    // The probe listener, and /metrics through the bundled prom-client (loaded at first scrape).
    const probes = `http://${admin.probes}`;
    assert.equal((await fetch(`${probes}/readyz`)).status, 200);
    const metrics = await fetch(`${probes}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# HELP pillion_/m);
    p.proc.kill('SIGTERM');
    assert.equal(await p.exited, 0);
  }
});
