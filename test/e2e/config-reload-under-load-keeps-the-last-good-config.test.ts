// R8: 100 config reloads under load, through Kubernetes-style ConfigMap symlink swaps and
// edits in place; 10 invalid configs rejected, each named by file, line and field, the last
// good config kept; not one request of a paced 500 a second (h1 and h2) fails.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { h1Request, type LogLine, startPacedLoad, startPillion, tempDir } from './harness.ts';

const API_APP = fileURLToPath(new URL('../fixtures/api-app.ts', import.meta.url));
const VALID = 100;
const INVALID = 10;
/** The load's schedule: request i at t0 + i × 2 ms (500 a second), at most this many. */
const INTERVAL_MS = 2;
const MAX_REQUESTS = 200_000;

test('100 reloads under load: 0 errors, 10 invalid configs rejected, the last good one kept', async (t) => {
  const dir = tempDir();
  const head = [
    'app:',
    `  command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(API_APP)}]`,
  ];
  const valid = (n: number) =>
    [...head, `  config: { generation: ${n} }`, 'ingress:', '  listen: 127.0.0.1:0', ''].join('\n');
  // Each invalid config has its problem on a known line and field.
  const invalids: [text: string, expect: RegExp][] = [
    [`${valid(0)}aap: {}\n`, /pillion\.yaml:6:1: aap: unknown key; did you mean 'app'\?/],
    [
      valid(0).replace('generation: 0 }', 'generation: 0 }\n  port: x'),
      /:4:9: app\.port: expected/,
    ],
    [valid(0).replace('ingress:', 'ingress:\n  lisen: 1'), /:5:3: ingress\.lisen: unknown key/],
    [valid(0).replace('127.0.0.1:0', '127.0.0.1'), /:5:11: ingress\.listen: expected HOST:PORT/],
    [`${valid(0)}egress: { listen: 14001 }\n`, /:6:19: egress\.listen: expected HOST:PORT/],
    [
      valid(0).replace('{ generation: 0 }', '{ generation: 0'),
      /pillion\.yaml:\d+:\d+: yaml: YAML syntax error/,
    ],
    [
      valid(0).replace('ingress:', 'drain:\n  timeout: soon\ningress:'),
      /:5:12: drain\.timeout: expected a duration/,
    ],
    [`${valid(0)}logs: { format: text }\n`, /:6:17: logs\.format: expected one of json, human/],
    [
      valid(0).replace('ingress:', 'app2: 1\ningress:'),
      /:4:1: app2: unknown key; did you mean 'app'\?/,
    ],
    [
      valid(0).replace('  listen', '  listen: ${UNSET_VAR_FOR_TEST}\n  x'),
      /ingress\.listen: environment variable UNSET_VAR_FOR_TEST is not set/,
    ],
  ];
  assert.equal(invalids.length, INVALID);

  // A ConfigMap volume: pillion.yaml -> ..data/pillion.yaml, ..data -> ..genN, swapped whole.
  let gen = 0;
  const swap = (text: string): void => {
    gen++;
    mkdirSync(join(dir, `..gen${gen}`));
    writeFileSync(join(dir, `..gen${gen}`, 'pillion.yaml'), text);
    symlinkSync(`..gen${gen}`, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    if (gen > 2) rmSync(join(dir, `..gen${gen - 2}`), { recursive: true });
  };
  swap(valid(0));
  symlinkSync(join('..data', 'pillion.yaml'), join(dir, 'pillion.yaml'));
  const cfgFile = join(dir, 'pillion.yaml');

  const p = startPillion(['run', '--config', cfgFile]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const load = startPacedLoad({ port: () => port, intervalMs: INTERVAL_MS, max: MAX_REQUESTS });

  // Scans only lines not seen yet: the access log adds a line per request.
  let seen = 0;
  const next = async (match: (l: LogLine) => boolean, what: string): Promise<LogLine> => {
    const end = Date.now() + 20_000;
    for (;;) {
      for (; seen < p.lines.length; seen++) if (match(p.lines[seen])) return p.lines[seen++];
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const count = (msg: string) => p.lines.filter((l) => l.msg === msg).length;
  const generation = async () =>
    (JSON.parse((await h1Request(port, '/config')).body) as { generation: number }).generation;
  let lastGood = 0;
  let rejectedSeen = 0;
  const lags: number[] = [];
  try {
    for (let i = 1; i <= VALID + INVALID; i++) {
      const bad = i % 11 === 0 ? invalids[i / 11 - 1] : undefined;
      if (bad) {
        swap(bad[0]);
        const line = await next(
          (l) =>
            l.msg === 'config rejected; the last good config stays in force' &&
            l.rejected === rejectedSeen + 1,
          `rejection ${rejectedSeen + 1}`,
        );
        rejectedSeen++;
        assert.match((line.errors as string[]).join('\n'), bad[1]);
        assert.equal(line.code, 'PILLION_CONFIG_INVALID');
        assert.equal(await generation(), lastGood, 'the last good config stays in force');
      } else {
        const before = count('config reloaded');
        const t0 = Date.now();
        // Most changes arrive as ConfigMap swaps; every fifth as an edit in place of the file.
        if (i % 5 === 0) writeFileSync(join(dir, `..gen${gen}`, 'pillion.yaml'), valid(i));
        else swap(valid(i));
        await next(
          (l) => l.msg === 'config reloaded' && Number(l.reloads) === before + 1,
          `reload ${before + 1}`,
        );
        lags.push(Date.now() - t0);
        lastGood = i;
        assert.equal(await generation(), i);
      }
    }
  } finally {
    await load.stop();
  }
  const seconds = load.seconds();
  lags.sort((a, b) => a - b);
  t.diagnostic(
    `file change to reload applied: median ${lags[lags.length >> 1]} ms, max ${lags.at(-1)} ms`,
  );
  t.diagnostic(
    `${load.sent()} requests sent on a ${INTERVAL_MS} ms schedule in ${seconds.toFixed(1)} s (${(load.sent() / seconds).toFixed(0)} req/s achieved), ${load.answered()} answered, across ${VALID + INVALID} reloads`,
  );

  assert.deepEqual(load.failures, []);
  assert.equal(load.answered(), load.sent(), 'every scheduled request was answered');
  assert.ok(load.sent() > 0);
  assert.equal(count('config reloaded'), VALID);
  assert.equal(count('config rejected; the last good config stays in force'), INVALID);
  // The counters, as the last event (the tenth rejection) reports them.
  const last = p.lines.filter((l) => l.msg.startsWith('config r')).at(-1);
  assert.equal(last?.reloads, VALID);
  assert.equal(last?.rejected, INVALID);
  // Only app.config changed: nothing needed a restart.
  assert.equal(count('config fields changed that apply only at the next start; not applied'), 0);

  // A listen address whose port is taken: the ingress's prepare fails to bind, so the whole
  // reload is refused, and the running listener keeps serving.
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const taken = (holder.address() as AddressInfo).port;
  swap(valid(lastGood).replace('127.0.0.1:0', `127.0.0.1:${taken}`));
  const refused = await next(
    (l) => l.msg === 'config rejected; the last good config stays in force',
    'a refused listen change',
  );
  assert.equal(refused.code, 'PILLION_LISTEN_FAILED');
  assert.equal((await h1Request(port, '/')).status, 200);
  holder.close();

  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
});
