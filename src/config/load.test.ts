import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode } from '../core/errors.ts';
import { ConfigError, parseConfig } from './load.ts';

const ENV = { HOME: '/home/u', PORT_FROM_ENV: '9090', SECRET_TOKEN: 's3cr3t-canary' };

/** Parses YAML expected to be invalid; returns each problem as `line:col: path: message`. */
function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, 'pillion.yaml', ENV);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, ErrorCode.CONFIG_INVALID);
    for (const i of err.issues) {
      assert.ok(i.text.startsWith(`pillion.yaml:${i.line}:${i.col}: ${i.path}: ${i.message}`));
    }
    return err.issues.map((i) => `${i.line}:${i.col}: ${i.path}: ${i.message}`);
  }
  assert.fail('expected the config to be rejected');
}

const invalid: [name: string, yaml: string, expected: string[]][] = [
  [
    'an unknown top-level key with a near name',
    'aap: {}\n',
    ["1:1: aap: unknown key; did you mean 'app'?"],
  ],
  [
    'an unknown key with no near name lists the keys',
    'frobnicate: 1\n',
    [
      '1:1: frobnicate: unknown key; expected one of: app, ingress, egress, admin, telemetry, logs, drain, state_dir',
    ],
  ],
  [
    'a misspelt ingress key',
    'ingress:\n  lisen: 0.0.0.0:8443\n',
    ["2:3: ingress.lisen: unknown key; did you mean 'listen'?"],
  ],
  [
    'a transposed app key',
    'app:\n  prot: 8080\n',
    ["2:3: app.prot: unknown key; did you mean 'port'?"],
  ],
  [
    'the top level is a list',
    '- a\n- b\n',
    ['1:1: (top level): expected a map of keys, got a list'],
  ],
  [
    'the top level is a string',
    'hello\n',
    ['1:1: (top level): expected a map of keys, got a string'],
  ],
  ['app is a string', 'app: python3\n', ['1:6: app: expected a map of keys, got a string']],
  [
    'app.port is text',
    'app:\n  port: http\n',
    ['2:9: app.port: expected a whole number from 1 to 65535, got a string'],
  ],
  [
    'app.port is too big',
    'app:\n  port: 70000\n',
    ['2:9: app.port: expected a whole number from 1 to 65535, got 70000'],
  ],
  [
    'app.port is zero',
    'app:\n  port: 0\n',
    ['2:9: app.port: expected a whole number from 1 to 65535, got 0'],
  ],
  [
    'ingress.workers is zero',
    'ingress:\n  workers: 0\n',
    ['2:12: ingress.workers: expected a whole number of at least 1, or auto, got 0'],
  ],
  [
    'ingress.workers is a word other than auto',
    'ingress:\n  workers: all\n',
    ['2:12: ingress.workers: expected a whole number of at least 1, or auto, got a string'],
  ],
  [
    'app.port is a decimal',
    'app:\n  port: 80.5\n',
    ['2:9: app.port: expected a whole number from 1 to 65535, got 80.5'],
  ],
  [
    'app.command is a string',
    'app:\n  command: python3 -m http.server\n',
    ['2:12: app.command: expected a list, got a string'],
  ],
  [
    'app.command is empty',
    'app:\n  command: []\n',
    ['2:12: app.command: expected a list of at least 1 item(s), got an empty list'],
  ],
  [
    'an unquoted number in app.command',
    'app:\n  command: [python3, -m, http.server, 8080]\n',
    ['2:39: app.command[3]: expected a string, got a number (quote it to make it a string)'],
  ],
  [
    'app.stop_timeout is a word',
    'app:\n  stop_timeout: soon\n',
    ['2:17: app.stop_timeout: expected a duration such as 10s, 500ms or 2m, got a string'],
  ],
  [
    'app.stop_timeout has a bad unit',
    'app:\n  stop_timeout: 10d\n',
    [
      '2:17: app.stop_timeout: expected a duration such as 10s, 500ms or 2m, got a string that is not one (units: ms, s, m, h; at most 24 days)',
    ],
  ],
  [
    'app.stop_timeout is negative',
    'app:\n  stop_timeout: -1\n',
    ['2:17: app.stop_timeout: expected a duration such as 10s, 500ms or 2m, got a number'],
  ],
  [
    'drain.timeout is a list',
    'drain:\n  timeout: [1]\n',
    ['2:12: drain.timeout: expected a duration such as 10s, 500ms or 2m, got a list'],
  ],
  [
    'app.restart is not a policy',
    'app:\n  restart: sometimes\n',
    ['2:12: app.restart: expected one of never, on-failure, always, got a string'],
  ],
  [
    'app.readiness has an unknown kind',
    'app:\n  readiness: { grpc: true }\n',
    ['2:16: app.readiness.grpc: unknown key; expected one of: http, tcp, exec, interval'],
  ],
  [
    'app.stop_signal is not a signal name',
    'app:\n  stop_signal: term\n',
    ['2:16: app.stop_signal: expected a signal name such as SIGTERM, got a string that is not one'],
  ],
  [
    'an egress service needs an endpoint URL without a path',
    'egress:\n  services:\n    users:\n      endpoints: [ftp://x, https://h:1/api]\n',
    [
      '4:19: egress.services.users.endpoints[0]: expected a URL such as https://host:443 (no path), got a string that is not one',
      '4:28: egress.services.users.endpoints[1]: expected a URL such as https://host:443 (no path), got a string that is not one',
    ],
  ],
  [
    'an egress service name must be a DNS label',
    'egress:\n  services:\n    Users:\n      endpoints: [https://h:1]\n',
    [
      '3:5: egress.services.<name>: not a valid name: expected a lower-case name of letters, digits and -, starting with a letter',
    ],
  ],
  [
    'an egress timeout is a duration or a map of connect, per_try and total',
    'egress:\n  services:\n    a:\n      endpoints: [https://h:1]\n      timeout: { conect: 1s, total: soon }\n',
    [
      "5:18: egress.services.a.timeout.conect: unknown key; did you mean 'connect'?",
      '5:37: egress.services.a.timeout.total: expected a duration such as 10s, 500ms or 2m, got a string',
    ],
  ],
  [
    'an egress client certificate needs its key',
    'egress:\n  services:\n    a:\n      endpoints: [https://h:1]\n      tls: { cert: c.pem }\n',
    [
      '5:20: egress.services.a.tls.cert: give cert and key together (a client certificate needs its key)',
    ],
  ],
  [
    'a non-loopback admin listener without TLS and a token file',
    'admin:\n  listen: 0.0.0.0:0\n',
    [
      '2:11: admin.listen: not a loopback address: a non-loopback admin listener needs admin.tls and admin.token_file (or use 127.0.0.1, [::1] or unix:/path)',
    ],
  ],
  [
    'a non-loopback admin listener with TLS but no token file',
    'admin:\n  listen: "[::]:0"\n  tls: { cert: a.pem, key: k.pem }\n',
    [
      '2:11: admin.listen: not a loopback address: a non-loopback admin listener needs admin.tls and admin.token_file (or use 127.0.0.1, [::1] or unix:/path)',
    ],
  ],
  [
    'admin.probes is not an address',
    'admin:\n  probes: everywhere\n',
    ['2:11: admin.probes: expected HOST:PORT such as 0.0.0.0:14020, got a string that is not one'],
  ],
  [
    'drain.delay is not a duration',
    'drain:\n  delay: soon\n',
    ['2:10: drain.delay: expected a duration such as 10s, 500ms or 2m, got a string'],
  ],
  [
    'logs.format other than json or human',
    'logs:\n  format: text\n',
    ['2:11: logs.format: expected one of json, human, got a string'],
  ],
  [
    'logs.buffer is not a size',
    'logs:\n  buffer: 12 parsecs\n',
    [
      '2:11: logs.buffer: expected a size such as 512, 16KiB, 64K or 1MiB, got a string that is not one (units: B, K, KB, KiB, M, MB, MiB, G, GB, GiB)',
    ],
  ],
  [
    'logs.file has no path',
    'logs:\n  file: { keep: 3 }\n',
    ['2:3: logs.file.path: required key is missing'],
  ],
  [
    'logs.when_full is not a policy',
    'logs:\n  when_full: wait\n',
    ['2:14: logs.when_full: expected one of block, drop, got a string'],
  ],
  [
    'ingress.listen without a port',
    'ingress:\n  listen: 0.0.0.0\n',
    [
      '2:11: ingress.listen: expected HOST:PORT such as 0.0.0.0:8443 or [::]:8443, got a string that is not one',
    ],
  ],
  [
    'ingress.listen with a port past 65535',
    'ingress:\n  listen: 0.0.0.0:99999\n',
    ['2:11: ingress.listen: the port must be from 0 to 65535'],
  ],
  [
    'ingress.listen is a number',
    'ingress:\n  listen: 8443\n',
    [
      '2:11: ingress.listen: expected HOST:PORT such as 0.0.0.0:8443 or [::]:8443, got a number (quote it to make it a string)',
    ],
  ],
  [
    'ingress.tls.cert is a number',
    'ingress:\n  tls:\n    cert: 12\n    key: tls.key\n',
    ['3:11: ingress.tls.cert: expected a file path, got a number (quote it to make it a string)'],
  ],
  [
    'ingress.tls.cert is empty',
    'ingress:\n  tls:\n    cert: ""\n    key: tls.key\n',
    ['3:11: ingress.tls.cert: expected a file path, got an empty string'],
  ],
  [
    'ingress.tls without key',
    'ingress:\n  tls:\n    cert: tls.crt\n',
    [
      '3:11: ingress.tls.key: required with ingress.tls.cert: give both, or neither for a generated certificate',
    ],
  ],
  [
    'ingress.tls.client.header is a field Pillion sets',
    'ingress:\n  tls:\n    client:\n      ca: c.pem\n      header: x-forwarded-for\n',
    [
      '5:15: ingress.tls.client.header: x-forwarded-for is a field Pillion or HTTP itself sets; choose another name',
    ],
  ],
  [
    'ingress.tls.client.mode is not a mode',
    'ingress:\n  tls:\n    client:\n      ca: c.pem\n      mode: sometimes\n',
    ['5:13: ingress.tls.client.mode: expected one of require, optional, got a string'],
  ],
  [
    'ingress.tls.client without ca',
    'ingress:\n  tls:\n    client:\n      mode: optional\n',
    ['3:5: ingress.tls.client.ca: required key is missing'],
  ],
  [
    'ingress.tls misspelt key',
    'ingress:\n  tls:\n    cert: a\n    kye: b\n',
    ["4:5: ingress.tls.kye: unknown key; did you mean 'key'?"],
  ],
  [
    'a secret with both file and env',
    'app:\n  secrets:\n    db: { file: /x, env: DB }\n',
    ['3:9: app.secrets.db: give exactly one of file or env'],
  ],
  [
    'a secret with neither',
    'app:\n  secrets:\n    db: {}\n',
    ['3:9: app.secrets.db: give exactly one of file or env'],
  ],
  [
    'a secret with a bad name',
    'app:\n  secrets:\n    "db pass": { env: DB }\n',
    [
      '3:5: app.secrets.<name>: not a valid name: expected a secret name of letters, digits, _ . or -',
    ],
  ],
  [
    'a secret env with a bad variable name',
    'app:\n  secrets:\n    db: { env: 1DB }\n',
    [
      '3:16: app.secrets.db.env: expected an environment variable name such as API_KEY, got a string that is not one',
    ],
  ],
  [
    'a secret with an unknown source',
    'app:\n  secrets:\n    db: { vault: x }\n',
    ['3:11: app.secrets.db.vault: unknown key; expected one of: file, env'],
  ],
  [
    'app.api.listen off loopback',
    'app:\n  api:\n    listen: 0.0.0.0:9000\n',
    [
      '3:13: app.api.listen: expected a loopback address such as 127.0.0.1:0, or unix:/path/to.sock, got a string that is not one',
    ],
  ],
  [
    'state_dir is a boolean',
    'state_dir: true\n',
    ['1:12: state_dir: expected a file path, got a boolean (quote it to make it a string)'],
  ],
  [
    'an unset environment variable',
    'ingress:\n  listen: ${NO_SUCH_VAR}\n',
    [
      '2:11: ingress.listen: environment variable NO_SUCH_VAR is not set; set it or give a default: ${NO_SUCH_VAR:-default}',
    ],
  ],
  [
    'a bad environment reference',
    'state_dir: "${1X}"\n',
    [
      '1:12: state_dir: bad environment reference: expected ${NAME} or ${NAME:-default}; write $$ for a literal $',
    ],
  ],
  [
    'an unclosed environment reference',
    'state_dir: "/a/${HOME"\n',
    ['1:12: state_dir: unclosed ${ in an environment reference; write $$ for a literal $'],
  ],
  [
    'a port from the environment out of range',
    'app:\n  port: ${NOPE:-0}\n',
    ['2:9: app.port: expected a whole number from 1 to 65535, got 0'],
  ],
  [
    'a duplicate key',
    'app:\n  port: 1\n  port: 2\n',
    ['3:3: yaml: YAML syntax error (DUPLICATE_KEY): Map keys must be unique'],
  ],
  ['a non-string key', 'app:\n  1: x\n', ['2:3: app: keys must be plain strings, got a number']],
  [
    'an alias to a missing anchor',
    'app:\n  port: *nope\n',
    ['2:9: app.port: alias to an anchor that is not defined'],
  ],
  [
    'ingress.limits.max_headers is zero',
    'ingress:\n  limits: { max_headers: 0 }\n',
    ['2:26: ingress.limits.max_headers: expected a whole number of at least 1, got 0'],
  ],
  [
    'ingress.limits.upstream_timeout is not a duration',
    'ingress:\n  limits:\n    upstream_timeout: forever\n',
    [
      '3:23: ingress.limits.upstream_timeout: expected a duration such as 10s, 500ms or 2m, got a string',
    ],
  ],
  [
    'an unknown key that looks like a pasted value is not echoed',
    'ingress:\n  "hunter2 s3cret/x": 1\n',
    [
      '2:3: ingress.<key>: unknown key; expected one of: listen, workers, tls, http_redirect, limits, forwarded_for',
    ],
  ],
  [
    'several problems at once, in file order',
    'app:\n  port: x\n  stop_timeout: y\ningress:\n  lisen: z\nadmin: { tokn: 1 }\n',
    [
      '2:9: app.port: expected a whole number from 1 to 65535, got a string',
      '3:17: app.stop_timeout: expected a duration such as 10s, 500ms or 2m, got a string',
      "5:3: ingress.lisen: unknown key; did you mean 'listen'?",
      '6:10: admin.tokn: unknown key; expected one of: listen, probes, token_file, tls',
    ],
  ],
];

describe('invalid configs', () => {
  test('the table has at least 30 cases', () => {
    assert.ok(invalid.length >= 30, `${invalid.length} cases`);
  });
  for (const [name, yaml, expected] of invalid) {
    test(name, () => {
      assert.deepEqual(problems(yaml), expected);
    });
  }
});

describe('YAML syntax errors', () => {
  test('an unclosed quote points at the quote that opened it', () => {
    try {
      parseConfig('app:\n  config:\n    token: "hunter2\n    other: 1\n', 'pillion.yaml', ENV);
      assert.fail('rejected');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.issues[0].text,
        [
          'pillion.yaml:3:12: yaml: YAML syntax error (MISSING_CHAR): Missing closing "quote',
          '  3 |     token: "*******',
          '    |            ^',
        ].join('\n'),
      );
    }
  });

  test('show the line, values masked, with a caret under the column', () => {
    const yaml = 'app:\n  config:\n    token: "hunter2\n';
    assert.throws(
      () => parseConfig(yaml, 'pillion.yaml', ENV),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.message;
        assert.match(text, /^pillion\.yaml:\d+:\d+: yaml: YAML syntax error \(/);
        assert.doesNotMatch(text, /hunter2/);
        return true;
      },
    );
  });

  test('a bad flow sequence points at its line', () => {
    try {
      parseConfig('app:\n  command: [a, b\nlogs: {}\n', 'p.yaml', ENV);
      assert.fail('rejected');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const [first] = err.issues;
      assert.equal(first.path, 'yaml');
      const [, snippet, caret] = first.text.split('\n');
      assert.match(snippet, /^ {2}\d+ \| /);
      const col = caret.indexOf('^') - caret.indexOf('|') - 1;
      assert.equal(col, first.col);
    }
  });
});

describe('secrets are never echoed in errors', () => {
  const cases = [
    'app:\n  port: s3cr3t-canary\n',
    'app:\n  port: ${SECRET_TOKEN}\n',
    'ingress:\n  listen: s3cr3t-canary\n',
    'logs:\n  format: s3cr3t-canary\n',
    'app:\n  stop_timeout: s3cr3t-canary\n',
    'app:\n  config: { a: "s3cr3t-canary\n',
    'app:\n  config: [s3cr3t-canary\n',
    'app:\n  secrets:\n    x: { env: s3cr3t-canary }\n',
    'app:\n  command: [s3cr3t-canary, {a: 1}]\n',
  ];
  for (const yaml of cases) {
    test(JSON.stringify(yaml), () => {
      assert.throws(
        () => parseConfig(yaml, 'pillion.yaml', ENV),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.doesNotMatch(err.message, /s3cr3t|canary/);
          return true;
        },
      );
    });
  }
});

describe('valid configs', () => {
  test('the full shape of the issue (features that landed) parses', () => {
    const { config } = parseConfig(
      [
        'app:',
        '  command: [python3, -m, http.server, "8080"]',
        '  port: 8080',
        '  stop_timeout: 10s',
        '  config: { feature_x: true, nested: [1, { a: b }] }',
        '  secrets:',
        '    db_password: { file: /var/run/secrets/db/password }',
        '    api_key: { env: API_KEY }',
        'ingress:',
        '  listen: 0.0.0.0:8443',
        '  tls: { cert: tls.crt, key: tls.key }',
        'logs:',
        '  format: json',
        'drain:',
        '  timeout: 20s',
      ].join('\n'),
      'pillion.yaml',
      ENV,
    );
    assert.deepEqual(config, {
      app: {
        command: ['python3', '-m', 'http.server', '8080'],
        port: 8080,
        stop_timeout: '10s',
        config: { feature_x: true, nested: [1, { a: 'b' }] },
        secrets: {
          db_password: { file: '/var/run/secrets/db/password' },
          api_key: { env: 'API_KEY' },
        },
      },
      ingress: { listen: '0.0.0.0:8443', tls: { cert: 'tls.crt', key: 'tls.key' } },
      logs: { format: 'json' },
      drain: { timeout: '20s' },
    });
  });

  test('an empty file is an empty config', () => {
    assert.deepEqual(parseConfig('', 'p.yaml', ENV).config, {});
    assert.deepEqual(parseConfig('# nothing\n', 'p.yaml', ENV).config, {});
  });

  test('expands the environment, with defaults and $$, and reads numbers from it', () => {
    const { config, fromEnv } = parseConfig(
      'app:\n  port: ${PORT_FROM_ENV}\n  config:\n    price: "$$5"\n    home: ${HOME}/x\n    d: ${UNSET:-fallback}\n    e: ${EMPTY:-fallback}\n',
      'p.yaml',
      { ...ENV, EMPTY: '' },
    );
    assert.deepEqual(config.app, {
      port: 9090,
      config: { price: '$5', home: '/home/u/x', d: 'fallback', e: 'fallback' },
    });
    assert.deepEqual(fromEnv.get('app.port'), ['PORT_FROM_ENV']);
    assert.deepEqual(fromEnv.get('app.config.home'), ['HOME']);
  });

  test('durations may be numbers of seconds', () => {
    assert.deepEqual(parseConfig('drain:\n  timeout: 1.5\n', 'p.yaml', ENV).config, {
      drain: { timeout: 1.5 },
    });
  });

  test('anchors and aliases resolve', () => {
    const { config } = parseConfig(
      'app:\n  config: &c { a: 1 }\n  secrets:\n    x: &s { env: X }\n    y: *s\n',
      'p.yaml',
      ENV,
    );
    assert.deepEqual(config.app?.secrets, { x: { env: 'X' }, y: { env: 'X' } });
  });
});
