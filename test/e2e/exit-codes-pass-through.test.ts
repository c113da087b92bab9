import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startPillion } from './harness.ts';

const cases: [name: string, script: string, expected: number][] = [
  ['exit 0', 'process.exit(0)', 0],
  ['exit 1', 'process.exit(1)', 1],
  ['exit 42', 'process.exit(42)', 42],
  ['exit 255', 'process.exit(255)', 255],
  ['killed by SIGTERM', "process.kill(process.pid, 'SIGTERM')", 143],
  ['killed by SIGKILL', "process.kill(process.pid, 'SIGKILL')", 137],
  ['killed by SIGSEGV', "process.kill(process.pid, 'SIGSEGV')", 139],
];

for (const [name, script, expected] of cases) {
  test(`with --restart never, app ${name}: Pillion exits ${expected}`, async (t) => {
    // The app says something first, so the test also sees that its output was drained.
    const p = startPillion([
      'run',
      '--listen',
      '127.0.0.1:0',
      '--restart',
      'never',
      '--',
      process.execPath,
      '-e',
      `console.log('bye'); ${script}`,
    ]);
    t.after(() => p.kill());
    assert.equal(await p.exited, expected);
    const exit = p.lines.find((l) => l.msg === 'app exited');
    assert.equal(exit?.status, expected);
    assert.ok(p.lines.some((l) => l.source === 'app' && l.msg === 'bye'));
  });
}
