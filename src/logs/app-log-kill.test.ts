import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { LogOutput } from '../core/log.ts';
import { captureAppStream } from './app-log.ts';

// The child writes N lines with write(2) (no buffering in the app), then a last line without a
// newline, then SIGKILLs itself: nothing is left for an exit handler to flush.
const SCRIPT = `
const { writeSync } = require('node:fs');
const n = Number(process.argv[1]);
for (let i = 0; i < n; i++) { writeSync(1, 'line ' + i + '\\n'); writeSync(2, 'err ' + i + '\\n'); }
writeSync(1, 'last without newline');
process.kill(process.pid, 'SIGKILL');
`;

async function trial(n: number): Promise<void> {
  const child = spawn(process.execPath, ['-e', SCRIPT, String(n)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  const out = new LogOutput(
    new Writable({
      write(chunk: Buffer, _e, cb) {
        chunks.push(chunk);
        cb();
      },
    }),
  );
  const pid = child.pid as number;
  const [, , [code, signal]] = await Promise.all([
    captureAppStream(child.stdout, 'stdout', pid, out),
    captureAppStream(child.stderr, 'stderr', pid, out),
    once(child, 'exit'),
  ]);
  assert.equal(code, null);
  assert.equal(signal, 'SIGKILL');
  await out.flush();
  const lines = Buffer.concat(chunks)
    .toString()
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; stream: string; partial?: true });
  const out1 = lines.filter((l) => l.stream === 'stdout');
  const err = lines.filter((l) => l.stream === 'stderr');
  const want = Array.from({ length: n }, (_, i) => `line ${i}`);
  assert.deepEqual(
    out1.map((l) => l.msg),
    [...want, 'last without newline'],
    `n=${n}`,
  );
  assert.equal(out1.at(-1)?.partial, true);
  assert.equal(out1.filter((l) => l.partial).length, 1);
  assert.deepEqual(
    err.map((l) => l.msg),
    want.map((w) => w.replace('line', 'err')),
    `n=${n}`,
  );
}

test('an app SIGKILLed right after line N: all N captured, 100 trials', async () => {
  // Four children at a time keeps the run short on a shared 2-core machine.
  const sizes = Array.from({ length: 100 }, (_, i) => 1 + ((i * 2654435761) % 2000));
  for (let i = 0; i < sizes.length; i += 4) await Promise.all(sizes.slice(i, i + 4).map(trial));
});
