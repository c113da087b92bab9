import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeBackoff, describeWait, NOT_READY_FIRST_MS, nextNotReadyAt } from './not-ready.ts';

test('the not-ready word comes at 5 s, then at doubling intervals, then every 60 s', () => {
  const at = [NOT_READY_FIRST_MS];
  while (at.length < 8) at.push(nextNotReadyAt(at[at.length - 1]));
  assert.deepEqual(
    at.map((ms) => ms / 1000),
    [5, 10, 20, 40, 80, 140, 200, 260],
  );
});

test('what is said: the port given, the port found with its probe, attach mode, a back-off', async () => {
  assert.equal(
    await describeWait({ appPort: 8080, probe: 'tcp', elapsedMs: 5200 }),
    'nothing listens on port 8080 after 5 s',
  );
  assert.equal(
    await describeWait({
      found: { host: '127.0.0.1', port: 9000 },
      probe: 'http',
      elapsedMs: 10_000,
    }),
    'the app listens on 9000 but readiness (http) has not passed after 10 s',
  );
  // A PID with no process: its tree listens on nothing; PORT not set is said too.
  assert.equal(
    await describeWait({ pid: 2 ** 22 + 1, probe: 'tcp', elapsedMs: 5000 }),
    "no listening port after 5 s; the app's tree listens on no TCP port; PORT was not set",
  );
  assert.match(
    describeBackoff(1, 3, performance.now() + 4000),
    /^the app exited with status 1 \(3 times in a row\); next start in [34]\.\d s$/,
  );
  assert.equal(describeBackoff(2, 1, 0), 'the app exited with status 2; next start in 0.0 s');
});
