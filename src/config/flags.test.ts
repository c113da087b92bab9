import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { FLAGS, parseRunArgv } from './flags.ts';
import { schemaAt } from './schema-json.ts';

test('every flag sets a field the schema has', () => {
  for (const f of FLAGS) assert.ok(schemaAt(f.path), `--${f.name} -> ${f.path}`);
  assert.equal(new Set(FLAGS.map((f) => f.path)).size, FLAGS.length, 'one flag a field');
});

test('flags, inline values, repeats, the config file and the command after --', () => {
  const r = parseRunArgv([
    '--listen=127.0.0.1:0',
    '-c',
    'p.yaml',
    '--remap-exit',
    '143',
    '--remap-exit=1:0',
    '--signal-group',
    '--',
    'node',
    '--inspect',
    'app.js',
  ]);
  assert.equal(r.config, 'p.yaml');
  assert.deepEqual(r.command, ['node', '--inspect', 'app.js']);
  assert.deepEqual(Object.fromEntries(r.values), {
    listen: '127.0.0.1:0',
    'remap-exit': ['143', '1:0'],
    'signal-group': true,
  });
  assert.equal(parseRunArgv(['-h']).help, true);
});

const usage = (args: string[], pattern: RegExp) =>
  assert.throws(
    () => parseRunArgv(args),
    (err: unknown) =>
      err instanceof PillionError && err.code === ErrorCode.USAGE && pattern.test(err.message),
  );

test('mistakes are usage errors in Pillion words', () => {
  usage(
    ['node', 'app.js'],
    /^'node' is not a flag: the command of the app goes after --, as in: pillion run -- node app\.js\n/,
  );
  usage(['--listn', ':0'], /^unknown flag '--listn'; did you mean '--listen'\?/);
  usage(['--listen'], /^--listen needs a value/);
  usage(['--signal-group=yes'], /^--signal-group takes no value/);
});
