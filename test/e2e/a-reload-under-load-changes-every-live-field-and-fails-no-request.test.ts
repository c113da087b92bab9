// Ten reloads, each changing every live field at once (the app's config and secrets, the log
// format, level, file, rotation, buffer and when-full policy, the lifecycle timings, the drain), under
// a bounded load of keep-alive clients: not one request fails, and each reload names every
// field it applied.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { h1Request, startLoad, startPillion, tempDir } from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));
const RELOADS = 10;
/** Load: this many keep-alive clients, each bounded in count, pausing PACE_MS between requests. */
const CLIENTS = 8;
const MAX_REQUESTS_PER_CLIENT = 20_000;
const PACE_MS = 8;

/** Every live field of pillion.yaml that this config sets; each changes at every reload. */
const LIVE = [
  'app.backoff.base',
  'app.restart_window',
  'app.stop_timeout',
  'app.ready_timeout',
  'app.readiness.interval',
  'app.startup_grace',
  'app.probe_timeout',
  'app.config',
  'app.secrets',
  'logs.format',
  'logs.level',
  'logs.file.path',
  'logs.file.max_size',
  'logs.file.keep',
  'logs.buffer',
  'logs.when_full',
  'drain.delay',
  'drain.timeout',
];

test(`${RELOADS} reloads changing every live field under load: 0 failed requests`, async (t) => {
  const dir = tempDir();
  const file = join(dir, 'pillion.yaml');
  writeFileSync(join(dir, 's0.txt'), 'zero');
  writeFileSync(join(dir, 's1.txt'), 'one');
  const log = (n: number) => join(dir, `p${n}.log`);
  const config = (n: number) =>
    [
      'app:',
      `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
      `  config: { generation: ${n} }`,
      `  secrets: { s: { file: s${n % 2}.txt } }`,
      `  backoff: { base: ${1 + n}s }`,
      `  restart_window: ${10 + n}s`,
      `  stop_timeout: ${5 + n}s`,
      `  ready_timeout: ${10 + n}s`,
      `  readiness: { interval: ${1 + (n % 2)}s }`,
      `  startup_grace: ${n}s`,
      `  probe_timeout: ${1 + n}s`,
      'ingress:',
      '  listen: 127.0.0.1:0',
      'logs:',
      // Human lines on odd reloads: the file sink stays JSON, and the test reads it.
      `  format: ${n % 2 ? 'human' : 'json'}`,
      `  level: ${n % 2 ? 'debug' : 'info'}`,
      `  file: { path: ${JSON.stringify(log(n))}, max_size: ${100 + n}MiB, keep: ${5 + n} }`,
      `  buffer: ${16 + n}MiB`,
      `  when_full: ${n % 2 ? 'drop' : 'block'}`,
      'drain:',
      `  delay: ${n * 10}ms`,
      `  timeout: ${10 + n}s`,
      '',
    ].join('\n');
  writeFileSync(file, config(0));
  const p = startPillion(['run', '--config', file]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const load = startLoad(port, {
    clients: CLIENTS,
    maxPerClient: MAX_REQUESTS_PER_CLIENT,
    paceMs: PACE_MS,
  });
  /** Pillion's JSON lines in the n-th log file (the file sink is always JSON). */
  const lines = (n: number): Record<string, unknown>[] =>
    existsSync(log(n))
      ? readFileSync(log(n), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  try {
    for (let n = 1; n <= RELOADS; n++) {
      writeAtomically(file, config(n));
      let reloaded: Record<string, unknown> | undefined;
      for (let i = 0; i < 2000 && !reloaded; i++) {
        reloaded = lines(n).find((l) => l.msg === 'config reloaded');
        if (!reloaded) await new Promise((r) => setTimeout(r, 10));
      }
      const said = p.lines.filter((l) => /config/.test(String(l.msg)) && l.source !== 'access');
      assert.ok(reloaded, `reload ${n}: ${JSON.stringify(said.slice(-3))}`);
      assert.equal(reloaded.reloads, n);
      const applied = lines(n).find((l) => l.msg === 'config applied');
      assert.deepEqual(
        [...((applied?.fields as string[]) ?? [])].sort(),
        [...LIVE].sort(),
        `reload ${n}`,
      );
      assert.equal(
        lines(n).some((l) => /apply only at the next start/.test(String(l.msg))),
        false,
      );
      const cfg = JSON.parse((await h1Request(port, '/config')).body) as { generation: number };
      assert.equal(cfg.generation, n);
      assert.equal((await h1Request(port, '/secret/s')).body, n % 2 ? 'one' : 'zero');
    }
  } finally {
    await load.stop();
  }
  const seconds = load.seconds();
  t.diagnostic(
    `${load.ok()} requests in ${seconds.toFixed(1)} s (${(load.ok() / seconds).toFixed(0)} rps) across ${RELOADS} reloads`,
  );
  assert.deepEqual(load.failures, []);
  assert.ok(load.ok() > 0);
  // The last file has the access lines of the last stretch of load.
  assert.ok(lines(RELOADS).some((l) => l.source === 'access'));
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});

/** Written whole, then renamed into place: the watcher never reads half a file. */
function writeAtomically(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}
