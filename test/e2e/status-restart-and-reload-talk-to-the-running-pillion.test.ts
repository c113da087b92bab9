// `pillion status`, `pillion restart` and `pillion reload` (the real CLI) against a real
// `pillion run`: found through the config file alone (a Unix-socket admin listener and its
// state dir), through --admin and --token-file, and with clear errors when nothing runs there
// or the token is wrong.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { adminAddress, adminStatus } from './admin-harness.ts';
import { APP_CMD, alive, BIN, startPillion, tempDir } from './harness.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `pillion ARGS` to its end (bounded: a command that hangs fails the test). */
function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: cwd, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => {
      stdout += d;
    });
    c.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`pillion ${args.join(' ')} did not end in 60 s`));
    }, 60_000);
    c.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** A loopback port the OS just handed out and nothing listens on now. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('each command has help', async () => {
  const dir = tempDir();
  for (const cmd of ['status', 'restart', 'reload']) {
    const r = await cli([cmd, '--help'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: pillion ${cmd}`));
    assert.match(r.stdout, /--admin ADDR/);
    assert.match(r.stdout, /--token-file FILE/);
  }
  const bad = await cli(['status', '--nope'], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Run 'pillion status --help'/);
});

test('with no Pillion running, each command says so and exits 1', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'token'), 'some-token-of-enough-length\n');
  const port = await closedPort();
  for (const cmd of ['status', 'restart', 'reload']) {
    const r = await cli(
      [cmd, '--admin', `127.0.0.1:${port}`, '--token-file', join(dir, 'token')],
      dir,
    );
    assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `^pillion ${cmd}: nothing answers on the admin address 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): is pillion run running\\?`,
      ),
    );
  }
  // No token where the state dir says: the message names the file and the way out.
  const r = await cli(['status'], dir, { PILLION_STATE_DIR: join(dir, 'nowhere') });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /cannot read the admin token .*nowhere\/admin-token \(ENOENT\).*is pillion run running/,
  );
});

test('status, restart and reload reach the Pillion the config file names', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const cfg = join(dir, 'pillion.yaml');
  const config = (greeting: string): string =>
    [
      'app:',
      `  command: ${JSON.stringify(APP_CMD)}`,
      `  config: { greeting: ${greeting} }`,
      'ingress: { listen: 127.0.0.1:0 }',
      `admin: { listen: ${JSON.stringify(`unix:${join(dir, 'admin.sock')}`)} }`,
      `state_dir: ${JSON.stringify(stateDir)}`,
      '',
    ].join('\n');
  writeFileSync(cfg, config('hello'));
  const address = `unix:${join(dir, 'admin.sock')}`;
  // The harness gives every Pillion `--admin 127.0.0.1:0` unless told: told the file's value.
  const p = startPillion(['run', '-c', cfg, '--admin', address], { stateDir });
  t.after(() => p.kill());
  await p.ready();
  assert.equal(await adminAddress(p), address);
  const token = readFileSync(join(stateDir, 'admin-token'), 'utf8').trim();
  const first = await adminStatus(address, token);

  // Only the config file: it names the socket and the state dir with the token.
  const s = await cli(['status', '-c', cfg], dir);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, new RegExp(`^app +ready +pid ${first.app.pid} `, 'm'));
  assert.match(s.stdout, /^ready +yes/m);
  assert.match(s.stdout, /^certificate +/m);
  assert.match(s.stdout, /^requests +\d+ total/m);
  const j = await cli(['status', '--json'], dir, { PILLION_CONFIG: cfg });
  assert.equal(j.code, 0, j.stderr);
  const json = JSON.parse(j.stdout);
  assert.equal(json.app.pid, first.app.pid);
  assert.equal(json.ready, true);

  // A wrong token: refused, said so, nothing done.
  writeFileSync(join(dir, 'wrong'), 'not-the-token-but-long-enough\n');
  const w = await cli(['restart', '--admin', address, '--token-file', join(dir, 'wrong')], dir);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /refused the token from .*wrong \(401\)/);
  assert.equal((await adminStatus(address, token)).app.pid, first.app.pid);

  // restart waits for the new process and names both pids.
  const r = await cli(['restart', '-c', cfg], dir);
  assert.equal(r.code, 0, r.stderr);
  const now = await adminStatus(address, token);
  assert.notEqual(now.app.pid, first.app.pid);
  assert.equal(r.stdout, `app restarted: pid ${first.app.pid} -> ${now.app.pid}, ready\n`);
  assert.equal(alive(Number(first.app.pid)), false);

  // reload applies a changed file; a broken one is refused and the old config stays.
  writeFileSync(cfg, config('changed'));
  const ok = await cli(['reload', '-c', cfg], dir);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^config reloaded/);
  await p.waitForLog((l) => l.msg === 'config applied', 'config applied');
  writeFileSync(cfg, `${config('changed')}drain: { timeout: soon }\n`);
  const bad = await cli(['reload', '--admin', address, '--state-dir', stateDir], dir);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /answered 422/);
  assert.match(bad.stderr, /pillion\.yaml:\d+:\d+: drain\.timeout/);
  assert.equal((await adminStatus(address, token)).app.pid, now.app.pid);
  // With the file broken and nothing else given, the failure says why the file was not used.
  const lost = await cli(['status', '-c', cfg], dir);
  assert.equal(lost.code, 1);
  assert.match(lost.stderr, /note: the config file is not valid \(.*drain\.timeout/);

  writeFileSync(cfg, config('changed'));
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  const gone = await cli(['status', '-c', cfg], dir);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /nothing answers on the admin address unix:/);
});
