import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { parseRunArgs } from './run.ts';

const ENV = { HOME: '/home/u' };

/** The lifecycle a run gets with no lifecycle flag. */
const DEFAULTS = {
  restart: 'on-failure',
  maxRestarts: undefined,
  backoff: { baseMs: 1000, capMs: 300_000, resetAfterMs: 600_000 },
  restartWindowMs: 10_000,
  drainDelayMs: 0,
  stopSignal: undefined,
  signalGroup: false,
  remapExit: new Map(),
  readiness: { kind: 'tcp' },
  readinessIntervalMs: 0,
  startupGraceMs: 0,
  probeTimeoutMs: 1000,
};

/** Parses and asserts a config came back (not help). */
function parse(args: string[], env: NodeJS.ProcessEnv = ENV) {
  const cfg = parseRunArgs(args, env);
  assert.ok(cfg, 'a config, not help');
  return cfg;
}

/** Asserts a PILLION_USAGE error whose first line matches `pattern`. */
function assertUsage(args: string[], pattern: RegExp): void {
  assert.throws(
    () => parseRunArgs(args, ENV),
    (err: unknown) => {
      assert.ok(err instanceof PillionError);
      assert.equal(err.code, ErrorCode.USAGE);
      assert.equal(err.code, 'PILLION_USAGE');
      const [first, hint] = err.message.split('\n');
      assert.match(first, pattern);
      assert.equal(hint, "Run 'pillion run --help' for usage.");
      return true;
    },
  );
}

describe('parseRunArgs', () => {
  test('fills in defaults around the command', () => {
    assert.deepEqual(parse(['--', 'node', 'app.js', '--port', '3000']), {
      command: ['node', 'app.js', '--port', '3000'],
      listenHost: '0.0.0.0',
      listenPort: 8443,
      appPort: undefined,
      certFile: undefined,
      keyFile: undefined,
      stateDir: '/home/u/.local/state/pillion',
      drainTimeoutMs: 10_000,
      stopTimeoutMs: 10_000,
      readyTimeoutMs: 10_000,
      lifecycle: DEFAULTS,
    });
  });

  test('passes everything after the first -- to the app, flags and -- included', () => {
    assert.deepEqual(parse(['--', 'app', '--listen', 'x', '-h', '--', 'y']).command, [
      'app',
      '--listen',
      'x',
      '-h',
      '--',
      'y',
    ]);
  });

  test('reads every flag', () => {
    const cfg = parse([
      '--listen',
      '127.0.0.1:9443',
      '--app-port=3000',
      '--cert',
      '/tls/crt.pem',
      '--key',
      '/tls/key.pem',
      '--drain-timeout',
      '30s',
      '--stop-timeout',
      '500ms',
      '--ready-timeout',
      '2',
      '--state-dir',
      '/var/lib/pillion',
      '--',
      'app',
    ]);
    assert.deepEqual(cfg, {
      command: ['app'],
      listenHost: '127.0.0.1',
      listenPort: 9443,
      appPort: 3000,
      certFile: '/tls/crt.pem',
      keyFile: '/tls/key.pem',
      stateDir: '/var/lib/pillion',
      drainTimeoutMs: 30_000,
      stopTimeoutMs: 500,
      readyTimeoutMs: 2_000,
      lifecycle: DEFAULTS,
    });
  });

  describe('--listen', () => {
    const cases: [text: string, host: string, port: number][] = [
      ['[::]:8443', '::', 8443],
      ['[::1]:443', '::1', 443],
      ['[2001:db8::1]:8443', '2001:db8::1', 8443],
      ['127.0.0.1:0', '127.0.0.1', 0],
      ['0.0.0.0:65535', '0.0.0.0', 65535],
      ['localhost:8443', 'localhost', 8443],
      [':9000', '0.0.0.0', 9000],
    ];
    for (const [text, host, port] of cases) {
      test(`${text} is ${host} port ${port}`, () => {
        const cfg = parse(['--listen', text, '--', 'app']);
        assert.equal(cfg.listenHost, host);
        assert.equal(cfg.listenPort, port);
      });
    }

    const bad = ['8443', 'host', '::8443', '[::]', '[::]8443', 'host:', 'host:x', 'a:b:1'];
    for (const text of bad) {
      test(`rejects ${JSON.stringify(text)}`, () => {
        assertUsage(['--listen', text, '--', 'app'], /^--listen: '.*' is not HOST:PORT/);
      });
    }

    for (const text of ['host:65536', 'host:-1', '[::]:99999']) {
      test(`rejects the port of ${text}`, () => {
        assertUsage(['--listen', text, '--', 'app'], /^--listen: /);
      });
    }
  });

  describe('--app-port', () => {
    test('alone attaches to a running app, with no command', () => {
      const cfg = parse(['--app-port', '3000']);
      assert.equal(cfg.appPort, 3000);
      assert.equal(cfg.command, undefined);
    });

    test('goes with a command too', () => {
      const cfg = parse(['--app-port', '8080', '--', 'app']);
      assert.equal(cfg.appPort, 8080);
      assert.deepEqual(cfg.command, ['app']);
    });

    for (const ok of ['1', '65535', '080']) {
      test(`accepts ${ok}`, () => {
        assert.equal(parse(['--app-port', ok]).appPort, Number(ok));
      });
    }

    for (const text of ['0', '65536', '3000.5', '1e3', 'http', '', ' 3000', '0x50']) {
      test(`rejects ${JSON.stringify(text)}`, () => {
        assertUsage(
          [`--app-port=${text}`, '--', 'app'],
          /^--app-port: '.*' is not a TCP port \(1-65535\)$/,
        );
      });
    }
  });

  test('without a command or --app-port is a usage error', () => {
    assertUsage([], /^missing the app's command/);
    assertUsage(['--listen', ':8443'], /^missing the app's command/);
    assertUsage(['--'], /^missing the app's command/);
  });

  test('--cert without --key, or --key without --cert, is a usage error', () => {
    assertUsage(['--cert', 'c.pem', '--', 'app'], /^--cert needs --key too$/);
    assertUsage(['--key', 'k.pem', '--', 'app'], /^--key needs --cert too$/);
  });

  test('an unknown flag is a usage error', () => {
    assertUsage(['--lisen', ':8443', '--', 'app'], /--lisen/);
    assertUsage(['-x', '--', 'app'], /-x/);
  });

  test('an --app-protocol other than http1 or h2c is a usage error naming both', () => {
    assertUsage(['--app-protocol', 'h2', '--', 'app'], /--app-protocol: 'h2' is not http1 or h2c/);
  });

  test('a flag missing its value is a usage error', () => {
    assertUsage(['--listen'], /--listen/);
  });

  test('a boolean flag given a value is a usage error', () => {
    assertUsage(['--help=yes', '--', 'app'], /--help/);
  });

  test('a positional before -- is a usage error that shows where it goes', () => {
    assertUsage(
      ['node', 'app.js'],
      /^unexpected argument 'node'.*after --.*pillion run -- node app\.js$/,
    );
    assertUsage(['--listen', ':8443', 'app', '--', 'x'], /^unexpected argument 'app'.* -- /);
  });

  describe('durations', () => {
    test('take seconds, or a unit', () => {
      const cfg = parse([
        '--drain-timeout=0',
        '--stop-timeout=1.5m',
        '--ready-timeout=250ms',
        '--',
        'app',
      ]);
      assert.equal(cfg.drainTimeoutMs, 0);
      assert.equal(cfg.stopTimeoutMs, 90_000);
      assert.equal(cfg.readyTimeoutMs, 250);
    });

    for (const flag of ['--drain-timeout', '--stop-timeout', '--ready-timeout']) {
      test(`${flag} rejects a non-duration`, () => {
        assertUsage(
          [`${flag}=soon`, '--', 'app'],
          new RegExp(`^${flag}: 'soon' is not a duration`),
        );
      });
    }
  });

  describe('state dir', () => {
    const cases: [name: string, env: NodeJS.ProcessEnv, dir: string][] = [
      [
        'PILLION_STATE_DIR first',
        { PILLION_STATE_DIR: '/srv/state', XDG_STATE_HOME: '/xdg', HOME: '/home/u' },
        '/srv/state',
      ],
      ['then XDG_STATE_HOME/pillion', { XDG_STATE_HOME: '/xdg', HOME: '/home/u' }, '/xdg/pillion'],
      ['then HOME/.local/state/pillion', { HOME: '/home/u' }, '/home/u/.local/state/pillion'],
      [
        'skips an empty PILLION_STATE_DIR',
        { PILLION_STATE_DIR: '', XDG_STATE_HOME: '/xdg' },
        '/xdg/pillion',
      ],
      [
        'ignores a relative XDG_STATE_HOME, as the XDG spec says',
        { XDG_STATE_HOME: 'state', HOME: '/home/u' },
        '/home/u/.local/state/pillion',
      ],
      [
        'skips an empty XDG_STATE_HOME',
        { XDG_STATE_HOME: '', HOME: '/home/u' },
        '/home/u/.local/state/pillion',
      ],
      [
        'falls back to the home directory without HOME',
        {},
        join(homedir(), '.local', 'state', 'pillion'),
      ],
    ];
    for (const [name, env, dir] of cases) {
      test(name, () => {
        assert.equal(parse(['--', 'app'], env).stateDir, dir);
      });
    }

    test('--state-dir wins over the environment', () => {
      const env = { PILLION_STATE_DIR: '/srv/state', XDG_STATE_HOME: '/xdg', HOME: '/home/u' };
      assert.equal(parse(['--state-dir', '/mine', '--', 'app'], env).stateDir, '/mine');
    });
  });

  test('--help prints the run help and returns undefined', (t) => {
    const write = t.mock.method(process.stdout, 'write', () => true);
    assert.equal(parseRunArgs(['--help'], ENV), undefined);
    assert.equal(parseRunArgs(['-h', '--', 'app'], ENV), undefined);
    // Help wins over errors that would otherwise be reported.
    assert.equal(parseRunArgs(['-h', '--cert', 'c.pem'], ENV), undefined);
    write.mock.restore();
    assert.equal(write.mock.callCount(), 3);
    assert.match(String(write.mock.calls[0].arguments[0]), /^Usage: pillion run/);
  });
});
