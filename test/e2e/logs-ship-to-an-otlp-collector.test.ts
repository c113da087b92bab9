import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attr, startReceiver } from '../fixtures/otlp-receiver.ts';
import { SeqVerifier } from '../fixtures/seq-verify.ts';
import { runSeq } from './seq-run.ts';

test('every app line and Pillion event reaches an OTLP/HTTP receiver, decoded', async (t) => {
  const rx = await startReceiver();
  t.after(() => rx.close());
  const count = 3000;
  const run = runSeq(['--log-otlp-endpoint', rx.url], ['--count', String(count)], 'mixed');
  t.after(() => run.proc.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr());
  // Rebuild log lines from the records and check them like stdout.
  const verifier = new SeqVerifier('mixed');
  for (const r of rx.records) {
    verifier.add({
      source: attr(r, 'source'),
      stream: attr(r, 'stream'),
      msg: r.body.stringValue,
      split: attr(r, 'split'),
      partial: attr(r, 'partial'),
    });
  }
  for (const stream of ['stdout', 'stderr'] as const) {
    const rep = verifier.report(stream, count);
    assert.equal(rep.received, count, rep.examples.join('\n'));
    assert.equal(rep.lost + rep.duplicated + rep.reordered + rep.corrupted + rep.partial, 0);
  }
  const errs = rx.records.filter((r) => attr(r, 'stream') === 'stderr');
  // Plain stderr lines are info (docs/logs.md); the stream is an attribute.
  assert.ok(errs.length > 0);
  assert.ok(errs.every((r) => r.severityText === 'INFO' && r.severityNumber === 9));
  // Pillion's own events go too, the closing summary last of all.
  const closing = rx.records.find((r) => r.body.stringValue === 'logs closing');
  assert.ok(closing);
  assert.equal(attr(closing, 'source'), 'logs');
  // stdout got the same lines.
  const stdoutReport = run.verifier.report('stdout', count);
  assert.equal(stdoutReport.received, count);
});
