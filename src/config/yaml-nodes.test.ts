// With no config file the flags are set into yaml-nodes.ts's document instead of yaml's own
// `new Document({})`, so `pillion run` need not load yaml. Every flag, with good and bad values,
// alone and together, must come out the same both ways: the same config and the same places,
// or the same message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Document, parseDocument } from 'yaml';
import { FLAGS, parseRunArgv } from './flags.ts';
import { checkConfig } from './load.ts';
import { isAlias, isMap, isScalar, isSeq } from './yaml-nodes.ts';

const VALUES = ['x', '1', '0', '-3', '10s', '100000', '1KiB', 'tcp', 'http:/ready=204', 'a,b'];
const ENV = { HOME: '/home/u' };

function outcome(argv: string[], real: boolean): unknown {
  const run = parseRunArgv(argv);
  try {
    const c = checkConfig(
      undefined,
      undefined,
      ENV,
      run,
      real ? () => new Document({}) : undefined,
    );
    const where = FLAGS.map((f) => c.where(f.path.split('.')) ?? '-');
    return { config: c.config, where, fromFlag: FLAGS.map((f) => c.fromFlag(f.path.split('.'))) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

test('flags alone give the same config or the same message as in a yaml document', () => {
  const cases: string[][] = [[], ['--', 'app', '--x']];
  for (const f of FLAGS) {
    if (f.kind === 'bool' || f.kind === 'negate') cases.push([`--${f.name}`]);
    else for (const v of VALUES) cases.push([`--${f.name}`, v, '--', 'app']);
  }
  // Flags that need each other, alone and together.
  cases.push(['--cert', 'a.crt'], ['--key', 'a.key'], ['--cert', 'a.crt', '--key', 'a.key']);
  cases.push(['--log-file-max-size', '1MiB'], ['--log-file', 'p.log', '--log-file-keep', '2']);
  cases.push(['--liveness-interval', '1s'], ['--liveness', 'tcp', '--liveness-failures', '0']);
  cases.push(['--readiness-interval', '1s', '--readiness', 'exec:true', '--remap-exit', '1']);
  const all = FLAGS.filter((f) => f.kind !== 'negate').flatMap((f) =>
    f.kind === 'bool' ? [`--${f.name}`] : [`--${f.name}`, '1'],
  );
  cases.push(all, [...all, '--', 'app']);
  let refused = 0;
  for (const argv of cases) {
    const mine = outcome(argv, false);
    assert.deepEqual(mine, outcome(argv, true), argv.join(' '));
    if ((mine as { error?: string }).error) refused++;
  }
  // Both kinds of outcome were compared.
  assert.ok(refused > 20 && refused < cases.length - 5, `${refused} of ${cases.length} refused`);
});

test("the node checks agree with yaml's own on yaml's nodes", async () => {
  const y = await import('yaml');
  const doc = parseDocument('a: &x [1, {b: 2}]\nc: *x\n');
  y.visit(doc, (_k, n) => {
    assert.equal(isMap(n), y.isMap(n));
    assert.equal(isSeq(n), y.isSeq(n));
    assert.equal(isScalar(n), y.isScalar(n));
    assert.equal(isAlias(n), y.isAlias(n));
  });
});
