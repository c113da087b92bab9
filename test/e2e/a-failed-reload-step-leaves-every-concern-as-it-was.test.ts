// A reload is one transaction: when one concern cannot prepare its part (a log file that
// cannot be opened, a secret file that cannot be read), the others' prepared parts are
// released and nothing changes; a valid text that failed is tried again at the next poll.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, h1Request, type LogLine, startPillion, tempDir } from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));

test('a failure in any prepare step leaves the config, secrets and log sinks as they were', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.yaml');
  const logA = join(dir, 'a.log');
  const logB = join(dir, 'b.log');
  writeFileSync(join(dir, 's1.txt'), 'one');
  const config = (generation: number, log: string, secrets: string) =>
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
      `  config: { generation: ${generation} }`,
      `  secrets: { ${secrets} }`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      'logs:',
      `  file: { path: ${JSON.stringify(log)} }`,
      '',
    ].join('\n');
  writeFileSync(file, config(0, logA, 's1: { file: s1.txt }'));
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();
  const generation = async () =>
    (JSON.parse((await h1Request(port, '/config')).body) as { generation: number }).generation;
  let seen = 0;
  const next = async (match: (l: LogLine) => boolean, what: string): Promise<LogLine> => {
    for (let i = 0; i < 2000; i++) {
      for (; seen < p.lines.length; seen++) if (match(p.lines[seen])) return p.lines[seen++];
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no ${what}`);
  };
  const rejected = (code: string) =>
    next(
      (l) => l.msg === 'config rejected; the last good config stays in force' && l.code === code,
      code,
    );
  assert.equal(await generation(), 0);

  // The logs' step fails: a log file under /proc cannot be opened.
  writeAtomically(file, config(1, '/proc/pillion-nope/x.log', 's1: { file: s1.txt }'));
  const logFail = await rejected('PILLION_LOG_FILE_UNWRITABLE');
  assert.match((logFail.errors as string[]).join('\n'), /\/proc\/pillion-nope\/x\.log/);
  assert.equal(await generation(), 0, 'app.config unchanged');

  // The config API's step fails after the logs' succeeded: a new secret whose file is missing.
  // The log file the logs prepared is released, and gets no line.
  writeAtomically(file, config(2, logB, 's1: { file: s1.txt }, s2: { file: s2.txt }'));
  const secretFail = await rejected('PILLION_SECRET_UNREADABLE');
  assert.match(
    (secretFail.errors as string[]).join('\n'),
    /app\.secrets\.s2: its file cannot be read/,
  );
  assert.equal(await generation(), 0, 'app.config unchanged');
  assert.equal((await h1Request(port, '/secret/s2')).status, 404, 'no new secret');
  assert.equal((await h1Request(port, '/secret/s1')).body, 'one', 'the old secret still served');
  // The access line is written once the response is done: it may come just after it.
  await eventually(
    () => /"msg":"GET \/secret\/s1 200"/.test(readFileSync(logA, 'utf8')),
    10_000,
    'lines still go to the first log file',
  );
  assert.equal(
    existsSync(logB) ? readFileSync(logB, 'utf8') : '',
    '',
    'nothing in the released file',
  );

  // Nothing in the file changes, but the secret appears: the next poll applies the same text.
  writeFileSync(join(dir, 's2.txt'), 'two');
  await next((l) => l.msg === 'config reloaded', 'the retried reload');
  assert.equal(await generation(), 2);
  assert.equal((await h1Request(port, '/secret/s2')).body, 'two');
  const applied = p.lines.find((l) => l.msg === 'config applied');
  assert.deepEqual(applied?.fields, ['app.config', 'app.secrets', 'logs.file.path']);
  await eventually(
    () => /"msg":"GET \/secret\/s2 200"/.test(readFileSync(logB, 'utf8')),
    10_000,
    'the new file in use',
  );
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

/** Written whole, then renamed into place: the watcher never reads half a file. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
