// schema.json is generated from schema.ts and is what Pillion checks at run time. These tests
// hold it to the source, and hold the walk (validate.ts) to the JSON Schema it stands in for:
// the compiled typebox check that used to run under the walk on every start now runs here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Compile } from 'typebox/compile';
import { withDefaults } from './effective.ts';
import { parseConfig } from './load.ts';
import { ConfigSchema, schemaJsonText } from './schema.ts';
import { CONFIG_SCHEMA, type SchemaNode } from './schema-json.ts';

test('schema.json matches schema.ts (run `npm run docs:config` after a schema change)', () => {
  const onDisk = readFileSync(new URL('./schema.json', import.meta.url), 'utf8');
  assert.equal(onDisk, schemaJsonText());
});

/** The keywords validate.ts checks, and the ones that only annotate. */
const CHECKED = [
  'type',
  'const',
  'anyOf',
  'properties',
  'patternProperties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'minLength',
  'pattern',
  'minimum',
  'maximum',
  'minProperties',
  'maxProperties',
];
const ANNOTATIONS = ['$schema', '$id', 'title', 'description', 'default'];

test('every keyword the schema uses is one the walk checks (teach validate.ts a new one first)', () => {
  const unknown = new Set<string>();
  const visit = (s: SchemaNode): void => {
    for (const k of Object.keys(s)) {
      if (!CHECKED.includes(k) && !ANNOTATIONS.includes(k) && !k.startsWith('x-')) unknown.add(k);
    }
    for (const sub of Object.values(s.properties ?? {})) visit(sub);
    for (const sub of Object.values(s.patternProperties ?? {})) visit(sub);
    for (const sub of s.anyOf ?? []) visit(sub);
    if (s.items) visit(s.items);
    if (typeof s.additionalProperties === 'object') visit(s.additionalProperties);
  };
  visit(CONFIG_SCHEMA);
  assert.deepEqual([...unknown], []);
});

test('what the walk accepts, the compiled JSON Schema accepts, as written and with defaults', () => {
  const check = Compile(ConfigSchema);
  const files = [
    '',
    [
      'app:',
      '  command: [python3, -m, http.server, "8080"]',
      '  port: 8080',
      '  protocol: h2c',
      '  restart: always',
      '  max_restarts: 3',
      '  backoff: { base: 500ms, max: 1m, reset: 2 }',
      '  restart_window: 5s',
      '  max_start_failures: 0',
      '  restart_on_change: true',
      '  stop_signal: SIGINT',
      '  signal_group: true',
      '  forward_sighup: true',
      '  remap_exit: ["143", "1:0"]',
      '  stop_timeout: 1.5',
      '  ready_timeout: 10s',
      '  readiness: { http: /ready=204, interval: 5s }',
      '  liveness: { exec: ["true"], interval: 1s, failures: 2 }',
      '  startup_grace: 3s',
      '  probe_timeout: 200ms',
      '  config: { feature_x: true, nested: [1, { a: b }] }',
      '  secrets:',
      '    db_password: { file: /run/secrets/db }',
      '    api_key: { env: API_KEY }',
      '  api: { listen: "unix:/tmp/api.sock" }',
      'ingress:',
      '  listen: "${LISTEN:-[::]:8443}"',
      '  workers: auto',
      '  tls: { cert: tls.crt, key: tls.key }',
      '  limits:',
      '    max_header_bytes: 32KiB',
      '    max_headers: 50',
      '    max_body_bytes: 1048576',
      '    max_connections_per_source: 0',
      '    underscore_headers: reject',
      '  forwarded_for: append',
      'logs:',
      '  format: human',
      '  level: debug',
      '  stdout: false',
      '  file: { path: /var/log/p.log, max_size: 10MiB, keep: 0 }',
      '  buffer: 1MiB',
      '  when_full: drop',
      '  app: { long_lines: truncate, max_line: 1KiB, multiline: 50ms, stderr_level: warn }',
      '  access: { format: json, fields: [time, status, headers], redact_query: [token] }',
      '  otlp: { endpoint: "https://otel.test:4318/v1/logs" }',
      'drain: { delay: 1s, timeout: 20s }',
      'state_dir: /var/lib/pillion',
    ].join('\n'),
  ];
  for (const text of files) {
    const { config } = parseConfig(text, 'pillion.yaml', { HOME: '/home/u' });
    for (const value of [config, withDefaults(CONFIG_SCHEMA, config)]) {
      assert.ok(check.Check(value), JSON.stringify([...check.Errors(value)][0]));
    }
  }
});
