import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { checkWorkers } from './index.ts';

test('workers > 1 is refused where SO_REUSEPORT does not balance, or Node lacks reusePort', () => {
  const cases: [number, string, string, boolean][] = [
    [1, 'darwin', '24.21.0', true],
    [2, 'linux', '24.21.0', true],
    [2, 'linux', '22.12.0', true],
    [2, 'linux', '23.1.0', true],
    [2, 'linux', '22.11.0', false],
    [2, 'linux', '23.0.0', false],
    [2, 'darwin', '24.21.0', false],
    [4, 'win32', '24.21.0', false],
  ];
  for (const [count, platform, version, ok] of cases) {
    const run = (): void => checkWorkers(count, platform, version);
    if (ok) assert.doesNotThrow(run, `${count} ${platform} ${version}`);
    else {
      assert.throws(
        run,
        (err: unknown) =>
          err instanceof PillionError &&
          err.code === ErrorCode.WORKERS_UNSUPPORTED &&
          err.message.includes(platform) &&
          err.message.includes('set workers: 1'),
        `${count} ${platform} ${version}`,
      );
    }
  }
});
