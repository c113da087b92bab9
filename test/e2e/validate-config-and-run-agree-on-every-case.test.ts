// One resolve path: for each file+flags case, `pillion validate` (the real CLI), `pillion config`
// (the real CLI, whose output must validate again and resolve to the same settings) and the
// config `pillion run` would run with (prepareRun, what runCommand calls) agree: all accept, or
// all refuse with the same message.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { prepareRun } from '../../src/cli/run.ts';
import type { Settings } from '../../src/config/settings.ts';
import { MAIN, tempDir } from './harness.ts';

interface Case {
  name: string;
  /** pillion.yaml in the case's directory (sub/pillion.yaml when `sub` is set). */
  yaml?: string;
  sub?: boolean;
  /** Flags of pillion run; `-- app` is added unless the case gives a command. */
  flags?: string[];
  env?: Record<string, string>;
  /** Valid: what the settings hold. */
  expect?: (s: Settings, dir: string) => void;
  /** Invalid: the message (validate's stderr and run's error), and validate's exit code. */
  error?: RegExp;
  code?: number;
}

const root = tempDir();
// Two certificate pairs, made once: a good pair, and a key of another certificate.
const pem = (name: string): void => {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-keyout',
      join(root, `${name}.key`),
      '-out',
      join(root, `${name}.crt`),
    ],
    { stdio: 'ignore' },
  );
};
pem('a');
pem('b');
const A_CRT = join(root, 'a.crt');
const A_KEY = join(root, 'a.key');
const B_KEY = join(root, 'b.key');

const cases: Case[] = [
  // Valid: defaults, overrides, environment, paths.
  {
    name: 'an empty file takes every default from the schema',
    yaml: '',
    expect: (s) => {
      assert.equal(s.listenPort, 8443);
      assert.equal(s.workers, 1);
      assert.equal(s.listenHost, '0.0.0.0');
      assert.equal(s.logs.bufferBytes, 16 * 1024 ** 2);
      assert.equal(s.drainTimeoutMs, 10_000);
      assert.equal(s.lifecycle.backoff.capMs, 300_000);
      assert.equal(s.limits.maxHeaderBytes, 16 * 1024);
      assert.deepEqual(s.lifecycle.readiness, { kind: 'tcp' });
    },
  },
  {
    name: 'app.protocol h2c in the file, and --app-protocol over it',
    yaml: 'app:\n  protocol: h2c\n',
    expect: (s) => assert.equal(s.appProtocol, 'h2c'),
  },
  {
    name: '--app-protocol http1 overrides the file',
    yaml: 'app:\n  protocol: h2c\n',
    flags: ['--app-protocol', 'http1'],
    expect: (s) => assert.equal(s.appProtocol, 'http1'),
  },
  {
    name: 'logs.buffer at its least value',
    yaml: 'logs: {buffer: 64KiB}\n',
    expect: (s) => assert.equal(s.logs.bufferBytes, 65_536),
  },
  {
    name: 'a flag overrides its field of the file',
    yaml: 'ingress: {listen: 127.0.0.1:9443}\n',
    flags: ['--listen', '127.0.0.1:9444'],
    expect: (s) => assert.equal(s.listenPort, 9444),
  },
  {
    name: "the README's ${LISTEN:-...} default",
    yaml: 'ingress:\n  listen: ${LISTEN:-127.0.0.1:8443}\n',
    expect: (s) => assert.deepEqual([s.listenHost, s.listenPort], ['127.0.0.1', 8443]),
  },
  {
    name: '${LISTEN} from the environment',
    yaml: 'ingress:\n  listen: ${LISTEN:-127.0.0.1:8443}\n',
    env: { LISTEN: '[::1]:9000' },
    expect: (s) => assert.deepEqual([s.listenHost, s.listenPort], ['::1', 9000]),
  },
  {
    name: "a relative certificate resolves against the file's directory",
    sub: true,
    yaml: 'ingress:\n  tls: {cert: ../../a.crt, key: ../../a.key}\n',
    expect: (s) => assert.deepEqual([s.certFile, s.keyFile], [A_CRT, A_KEY]),
  },
  {
    name: "a relative log file resolves against the file's directory",
    sub: true,
    yaml: 'logs: {file: {path: p.log}}\n',
    expect: (s, dir) => assert.equal(s.logs.file?.path, join(dir, 'sub', 'p.log')),
  },
  {
    name: "a flag's relative path resolves against the working directory",
    sub: true,
    yaml: '',
    flags: ['--log-file', 'q.log'],
    expect: (s, dir) => assert.equal(s.logs.file?.path, join(dir, 'q.log')),
  },
  {
    name: "a file's readiness.exec reaches the check as argv, no shell quoting",
    yaml: `app:\n  readiness: { exec: [test, -e, "it's ready"] }\n`,
    expect: (s) =>
      assert.deepEqual(s.lifecycle.readiness, { kind: 'exec', argv: ['test', '-e', "it's ready"] }),
  },
  {
    name: '--readiness exec:CMD is a shell command',
    flags: ['--readiness', 'exec:test -f /tmp/x'],
    expect: (s) =>
      assert.deepEqual(s.lifecycle.readiness, {
        kind: 'exec',
        argv: ['/bin/sh', '-c', 'test -f /tmp/x'],
      }),
  },
  {
    name: '--readiness http:/PATH=STATUS',
    flags: ['--readiness', 'http:/healthz=204'],
    expect: (s) =>
      assert.deepEqual(s.lifecycle.readiness, { kind: 'http', path: '/healthz', status: 204 }),
  },
  {
    name: "a --readiness flag replaces the file's check and keeps its interval",
    yaml: 'app:\n  readiness: { http: /up, interval: 2s }\n',
    flags: ['--readiness', 'tcp'],
    expect: (s) => {
      assert.deepEqual(s.lifecycle.readiness, { kind: 'tcp' });
      assert.equal(s.lifecycle.readinessIntervalMs, 2000);
    },
  },
  {
    name: '--liveness with its threshold; the interval from the schema',
    flags: ['--liveness', 'tcp', '--liveness-failures', '5'],
    expect: (s) =>
      assert.deepEqual(s.lifecycle.liveness, {
        probe: { kind: 'tcp' },
        intervalMs: 10_000,
        failures: 5,
      }),
  },
  {
    name: "a file's liveness check",
    yaml: 'app:\n  liveness: { exec: ["true"], interval: 2s }\n',
    expect: (s) =>
      assert.deepEqual(s.lifecycle.liveness, {
        probe: { kind: 'exec', argv: ['true'] },
        intervalMs: 2000,
        failures: 3,
      }),
  },
  {
    name: '--remap-exit repeated and comma-separated',
    flags: ['--remap-exit', '143', '--remap-exit', '1:0,2:3'],
    expect: (s) =>
      assert.deepEqual(
        s.lifecycle.remapExit,
        new Map([
          [143, 0],
          [1, 0],
          [2, 3],
        ]),
      ),
  },
  {
    name: "the file's app.remap_exit",
    yaml: 'app:\n  remap_exit: ["143:0"]\n',
    expect: (s) => assert.deepEqual(s.lifecycle.remapExit, new Map([[143, 0]])),
  },
  {
    name: '--stop-signal quit reads as SIGQUIT',
    flags: ['--stop-signal', 'quit'],
    expect: (s) => assert.equal(s.lifecycle.stopSignal, 'SIGQUIT'),
  },
  {
    name: '--log-file-only turns stdout off',
    flags: ['--log-file', 'only.log', '--log-file-only'],
    expect: (s) => assert.equal(s.logs.stdout, false),
  },
  {
    name: '--access-log-fields and --log-redact-query are lists',
    flags: ['--access-log-fields', 'time,status', '--log-redact-query', 'token, sig'],
    expect: (s) => {
      assert.deepEqual(s.logs.access.fields, ['time', 'status']);
      assert.deepEqual(s.logs.access.redactQuery, ['token', 'sig']);
    },
  },
  {
    name: 'bare numbers are seconds',
    yaml: 'app:\n  stop_timeout: 5\n  ready_timeout: 1.5\n',
    expect: (s) => assert.deepEqual([s.stopTimeoutMs, s.readyTimeoutMs], [5000, 1500]),
  },
  {
    name: 'sizes with a unit',
    yaml: 'ingress:\n  limits: { max_header_bytes: 32K, max_body_bytes: 1MB }\n',
    expect: (s) => assert.deepEqual([s.limits.maxHeaderBytes, s.limits.maxBodyBytes], [32768, 1e6]),
  },
  {
    name: 'back-off from flags',
    flags: ['--backoff-base', '10ms', '--backoff-max', '1s', '--backoff-reset', '2m'],
    expect: (s) =>
      assert.deepEqual(s.lifecycle.backoff, { baseMs: 10, capMs: 1000, resetAfterMs: 120_000 }),
  },
  {
    name: '--app-port is read as a number',
    flags: ['--app-port', '3000'],
    expect: (s) => assert.equal(s.appPort, 3000),
  },
  {
    name: 'app.port from the environment is read as a number',
    yaml: 'app:\n  port: ${APP_PORT}\n',
    env: { APP_PORT: '3001' },
    expect: (s) => assert.equal(s.appPort, 3001),
  },
  {
    name: '--signal-group and --forward-sighup',
    flags: ['--signal-group', '--forward-sighup'],
    expect: (s) => assert.deepEqual([s.lifecycle.signalGroup, s.forwardSighup], [true, true]),
  },
  {
    name: "a relative secret file resolves against the file's directory",
    sub: true,
    yaml: 'app:\n  secrets: { db: { file: db.txt } }\n',
    expect: (s, dir) => assert.deepEqual(s.secrets, { db: { file: join(dir, 'sub', 'db.txt') } }),
  },
  {
    name: 'an OTLP endpoint with a password reaches the sink whole (config redacts it)',
    yaml: 'logs:\n  otlp: { endpoint: "${OTLP_URL}" }\n',
    env: { OTLP_URL: 'https://user:canary-pw@127.0.0.1:4318/v1/logs' },
    expect: (s) =>
      assert.equal(s.logs.otlp?.endpoint, 'https://user:canary-pw@127.0.0.1:4318/v1/logs'),
  },
  {
    name: "a relative state_dir resolves against the file's directory",
    sub: true,
    yaml: 'state_dir: st\n',
    expect: (s, dir) => assert.equal(s.stateDir, join(dir, 'sub', 'st')),
  },
  {
    name: '--state-dir overrides the file',
    yaml: 'state_dir: /nonexistent/never-used\n',
    flags: ['--state-dir', 'st2'],
    expect: (s, dir) => assert.equal(s.stateDir, join(dir, 'st2')),
  },
  {
    name: 'a literal $ written $$ stays one $',
    yaml: 'app:\n  config: { price: "$$5" }\n',
    expect: (s) => assert.deepEqual(s.appConfig, { price: '$5' }),
  },
  {
    name: 'drain from the file and a flag together',
    yaml: 'drain: { delay: 2s }\n',
    flags: ['--drain-timeout', '30s'],
    expect: (s) => assert.deepEqual([s.lifecycle.drainDelayMs, s.drainTimeoutMs], [2000, 30_000]),
  },
  {
    name: 'the config API on a Unix socket',
    yaml: 'app:\n  api: { listen: "unix:/tmp/pillion-api.sock" }\n',
    expect: (s) => assert.equal(s.apiListen, 'unix:/tmp/pillion-api.sock'),
  },
  {
    name: 'the command in the file, no -- on the command line',
    yaml: 'app:\n  command: [node, app.js]\n',
    flags: [],
    expect: (s) => assert.deepEqual(s.command, ['node', 'app.js']),
  },
  {
    name: 'the command after -- wins over the file',
    yaml: 'app:\n  command: [node, app.js]\n',
    flags: ['--', 'python3', '-m', 'http.server'],
    expect: (s) => assert.deepEqual(s.command, ['python3', '-m', 'http.server']),
  },
  {
    name: 'a matching certificate and key from flags',
    flags: ['--cert', A_CRT, '--key', A_KEY],
    expect: (s) => assert.equal(s.certFile, A_CRT),
  },
  {
    name: 'ingress.workers: auto is one per available core',
    yaml: 'ingress: { workers: auto }\n',
    expect: (s) => assert.equal(s.workers, availableParallelism()),
  },
  {
    name: '--workers wins over ingress.workers',
    yaml: 'ingress: { workers: auto }\n',
    flags: ['--workers', '3'],
    expect: (s) => assert.equal(s.workers, 3),
  },
  {
    name: 'ingress.workers from the environment is read as a number',
    yaml: 'ingress:\n  workers: ${WORKERS}\n',
    env: { WORKERS: '2' },
    expect: (s) => assert.equal(s.workers, 2),
  },
  // Invalid: the same message from validate and run.
  ...['0', '01', '1.5', 'two'].map((bad) => ({
    name: `--workers ${bad} is no worker count`,
    flags: ['--workers', bad],
    error: /--workers: ingress\.workers: expected a whole number of at least 1, or auto, got /,
  })),
  {
    name: 'logs.buffer under 64 KiB (validate said valid, run refused a flag never given)',
    yaml: 'logs: {buffer: 1KiB}\n',
    error: /pillion\.yaml:1:16: logs\.buffer: expected a size of at least 65536 bytes/,
  },
  {
    name: '--log-buffer under 64 KiB names the flag',
    flags: ['--log-buffer', '1K'],
    error: /--log-buffer: logs\.buffer: expected a size of at least 65536 bytes/,
  },
  {
    name: 'an --app-protocol that is neither http1 nor h2c names the flag',
    flags: ['--app-protocol', 'h2'],
    error: /--app-protocol: app\.protocol: expected one of http1, h2c/,
  },
  {
    name: 'a certificate that does not exist names file:line:col and the field',
    yaml: 'ingress:\n  tls:\n    cert: /nope.crt\n    key: /nope.key\n',
    error: /pillion\.yaml:3:11: ingress\.tls\.cert: cannot read \/nope\.crt \(ENOENT\)/,
  },
  {
    name: 'a certificate that is not PEM',
    yaml: `ingress:\n  tls: { cert: ${A_KEY}, key: ${A_KEY} }\n`,
    error: /ingress\.tls\.cert: .* is not a PEM certificate/,
  },
  {
    name: 'a key of another certificate',
    flags: ['--cert', A_CRT, '--key', B_KEY],
    error: /--key: ingress\.tls\.key: .* is not the private key of/,
  },
  {
    name: 'every pair of ingress.tls.certificates is checked, and the bad one named',
    yaml: `ingress:\n  tls:\n    certificates:\n      - { cert: ${A_CRT}, key: ${A_KEY} }\n      - { cert: ${A_CRT}, key: ${B_KEY} }\n`,
    error:
      /pillion\.yaml:5:\d+: ingress\.tls\.certificates\[1\]\.key: .*b\.key is not the private key of .*a\.crt/,
  },
  {
    name: 'a passphrase from a variable that is not set',
    yaml: `ingress:\n  tls:\n    certificates:\n      - { cert: ${A_CRT}, key: ${A_KEY}, passphrase: { env: NO_SUCH_PASS } }\n`,
    error: /ingress\.tls\.certificates\[0\]\.passphrase: the variable NO_SUCH_PASS is not set/,
  },
  {
    name: 'ingress.tls.groups cannot name a finite-field group',
    yaml: 'ingress:\n  tls:\n    groups: [X25519, ffdhe2048]\n',
    error: /pillion\.yaml:3:22: ingress\.tls\.groups\[1\]: expected one of X25519MLKEM768, X25519/,
  },
  {
    name: 'a TLS policy alone keeps the generated certificate',
    yaml: 'ingress:\n  tls:\n    profile: modern\n    handshake_timeout: 5s\n',
    expect: (s) => {
      assert.equal(s.tls.profile, 'modern');
      assert.equal(s.tls.handshakeTimeoutMs, 5000);
      assert.equal(s.tls.default, undefined);
    },
  },
  {
    name: '--cert without --key',
    flags: ['--cert', A_CRT],
    error: /--cert: ingress\.tls\.key: needs --key too/,
  },
  {
    name: 'the app port is the HTTPS port',
    yaml: 'ingress: {listen: 127.0.0.1:9000}\napp: {port: 9000}\n',
    error: /pillion\.yaml:2:13: app\.port: the same port as ingress\.listen \(9000\)/,
  },
  {
    name: 'the config API on the HTTPS port',
    yaml: 'ingress: {listen: 127.0.0.1:9001}\napp: {api: {listen: 127.0.0.1:9001}}\n',
    error: /app\.api\.listen: the same port as ingress\.listen \(9001\)/,
  },
  {
    name: 'two kinds of readiness check',
    yaml: 'app:\n  readiness: { http: /up, tcp: true }\n',
    error: /pillion\.yaml:2:14: app\.readiness: give one of http, tcp or exec/,
  },
  {
    name: 'a liveness section without its check',
    yaml: 'app:\n  liveness: { interval: 2s }\n',
    error: /app\.liveness: give the check/,
  },
  {
    name: '--liveness-interval without --liveness',
    flags: ['--liveness-interval', '1s'],
    error: /--liveness-interval: app\.liveness: needs --liveness too/,
  },
  {
    name: 'a back-off cap below its base',
    yaml: 'app:\n  backoff: { base: 10s, max: 1s }\n',
    error: /app\.backoff\.max: must be at least app\.backoff\.base/,
  },
  {
    name: 'a stop signal that cannot be caught',
    flags: ['--stop-signal', 'KILL'],
    error: /--stop-signal: app\.stop_signal: not a signal that can be caught/,
  },
  {
    name: 'an unknown flag is a usage error',
    flags: ['--listn', ':0'],
    error: /unknown flag '--listn'; did you mean '--listen'\?/,
    code: 2,
  },
  {
    name: 'a state directory under /proc ends at once, no spin',
    flags: ['--state-dir', '/proc/pillion-nope'],
    error: /--state-dir: state_dir: \/proc\/pillion-nope cannot be used as the state directory/,
  },
  {
    name: 'a secret pasted as a secret name is not echoed',
    yaml: 'app:\n  secrets:\n    sk_live_4eC39HqLyjWDarjtT1zdp7dc: { env: X }\n',
    error: /app\.secrets\.<name>: this name looks like a secret value/,
  },
  {
    name: 'a secret pasted as an unknown key is not echoed',
    yaml: 'ghp_8Xq2vN5mK9pL3rT7wY1zB4cD6fH0jS2uA8e: 1\n',
    error: /pillion\.yaml:1:1: <key>: unknown key/,
  },
  {
    name: '${LISTEN} that expands to no address is checked after expansion',
    yaml: 'ingress:\n  listen: ${LISTEN}\n',
    env: { LISTEN: 'nope' },
    error: /pillion\.yaml:2:11: ingress\.listen: expected HOST:PORT/,
  },
  {
    name: '--log-file-keep that is no number',
    flags: ['--log-file', 'k.log', '--log-file-keep', 'x'],
    error: /--log-file-keep: logs\.file\.keep: expected a whole number/,
  },
  {
    name: '--readiness of no known form',
    flags: ['--readiness', 'udp'],
    error: /--readiness: app\.readiness: expected tcp, http:\/PATH\[=STATUS\] or exec:COMMAND/,
  },
  {
    name: '--remap-exit past 255',
    flags: ['--remap-exit', '300'],
    error: /--remap-exit: app\.remap_exit\[0\]: expected CODE or CODE:NEW with codes 0-255/,
  },
  {
    name: '--log-file-max-size without --log-file',
    flags: ['--log-file-max-size', '1M'],
    error: /--log-file-max-size: logs\.file\.path: needs --log-file too/,
  },
];

/** Runs the real CLI; resolves with its exit code and output. */
function cli(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, ...args], {
      cwd,
      env: { ...process.env, PILLION_CONFIG: '', PILLION_STATE_DIR: join(cwd, 'state'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => {
      stdout += c;
    });
    p.stderr.on('data', (c) => {
      stderr += c;
    });
    p.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function check(c: Case, i: number): Promise<void> {
  const dir = join(root, `case-${i}`);
  mkdirSync(join(dir, 'sub'), { recursive: true });
  const file = c.sub ? 'sub/pillion.yaml' : 'pillion.yaml';
  const env = { ...c.env };
  const flags = c.flags ?? [];
  const hasCommand = flags.includes('--') || /command:/.test(c.yaml ?? '');
  const args = [...flags, ...(hasCommand ? [] : ['--', 'app'])];
  writeFileSync(join(dir, file), c.yaml ?? '');
  const processEnv = {
    ...process.env,
    PILLION_CONFIG: '',
    PILLION_STATE_DIR: join(dir, 'state'),
    ...env,
  };
  const runWith = (extra: string[]) => prepareRun([...extra, ...args], processEnv, dir);

  const validate = await cli(['validate', file, ...args], dir, env);
  if (c.error) {
    assert.equal(validate.code, c.code ?? 1, `${c.name}: validate exits ${c.code ?? 1}`);
    assert.match(validate.stderr, c.error, `${c.name}: validate`);
    assert.throws(() => runWith(['--config', file]), c.error, `${c.name}: run`);
    return;
  }
  assert.equal(validate.code, 0, `${c.name}: validate: ${validate.stderr}`);
  const r = runWith(['--config', file]);
  assert.ok(r, c.name);
  c.expect?.(r.resolved.settings, dir);
  // What config prints is a valid file that resolves to the same settings.
  const config = await cli(['config', file, ...args], dir, env);
  assert.equal(config.code, 0, `${c.name}: config: ${config.stderr}`);
  assert.doesNotMatch(config.stdout, /canary-pw/, `${c.name}: config never prints a password`);
  // Read back the way pillion run reads a file (a real `config | validate` is in
  // config-commands-check-print-and-describe-the-config.test.ts).
  writeFileSync(join(dir, 'printed.yaml'), config.stdout);
  const back = prepareRun(['--config', 'printed.yaml'], processEnv, dir);
  if (!/canary-pw/.test(JSON.stringify(r.resolved.settings))) {
    const { configFile: _a, ...want } = r.resolved.settings;
    const { configFile: _b, ...got } = back?.resolved.settings ?? {};
    assert.deepEqual(got, want, `${c.name}: the printed config resolves to the same settings`);
  }
}

test('the table holds at least 40 file+flag cases', () => {
  assert.ok(cases.length >= 40, String(cases.length));
});

// In groups of ten, each its own test (and under the suite's per-test timeout); four cases at
// a time, as each starts the CLI up to twice.
for (let from = 0; from < cases.length; from += 10) {
  const group = cases.slice(from, from + 10);
  test(`validate, config and run agree: cases ${from + 1}-${from + group.length}`, async () => {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < group.length) {
        const i = next++;
        await check(group[i], from + i).catch((err) => {
          next = group.length; // the first failure stops the others
          throw err;
        });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  });
}
