import assert from 'node:assert/strict';
import { type ClientHttp2Session, connect } from 'node:http2';
import { test } from 'node:test';
import { APP_CMD, alive, eventually, h1Request, h2Request, startPillion } from './harness.ts';

interface Session {
  id: number;
  h2: ClientHttp2Session;
  ok: number;
  failed: number;
}

test('a worker SIGKILLed under load is replaced; requests on the other worker’s connections all succeed', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--workers', '2', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const started = await p.waitForLog((l) => l.msg === 'workers listening', 'workers listening');
  const port = Number(started.port);
  const [victim, survivor] = started.pids as number[];
  await p.ready();

  // 16 HTTP/2 connections: each stays on the worker that accepted it, so the access lines
  // of its requests say which worker that is.
  const sessions: Session[] = Array.from({ length: 16 }, (_, id) => {
    const h2 = connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    h2.on('error', () => {});
    return { id, h2, ok: 0, failed: 0 };
  });
  const perSession = 60;
  let killed = false;
  let sent = 0;
  const run = async (s: Session): Promise<void> => {
    for (let i = 0; i < perSession; i++) {
      if (s.h2.destroyed || s.h2.closed) {
        s.failed += perSession - i;
        return;
      }
      try {
        const r = await h2Request(s.h2, `/s${s.id}/${i}`);
        if (r.status === 200) s.ok++;
        else s.failed++;
      } catch {
        s.failed++;
      }
      // Killed once a third of the requests are done, while all sessions are busy.
      if (++sent === Math.floor((sessions.length * perSession) / 3) && !killed) {
        killed = true;
        process.kill(victim, 'SIGKILL');
      }
    }
  };
  await Promise.all(sessions.map(run));
  for (const s of sessions) s.h2.close();
  assert.ok(killed);

  const replaced = await p.waitForLog((l) => l.msg === 'worker replaced', 'worker replaced');
  assert.equal(replaced.worker, 1);
  assert.notEqual(replaced.worker_pid, victim);
  assert.ok(alive(survivor));
  const exitLine = p.lines.find((l) => l.msg === 'worker exited; starting a replacement');
  assert.equal(exitLine?.signal, 'SIGKILL');

  // Which worker each session was on: from the access lines of its requests.
  const workerOf = new Map<number, number>();
  for (const l of p.lines) {
    const m = l.source === 'access' ? /^\/s(\d+)\//.exec(String(l.path)) : null;
    if (m) workerOf.set(Number(m[1]), l.pid as number);
  }
  const onSurvivor = sessions.filter((s) => workerOf.get(s.id) === survivor);
  const onVictim = sessions.filter((s) => workerOf.get(s.id) !== survivor);
  const sum = (list: Session[], k: 'ok' | 'failed'): number => list.reduce((n, s) => n + s[k], 0);
  t.diagnostic(
    `survivor: ${onSurvivor.length} sessions, ${sum(onSurvivor, 'ok')} ok, ${sum(onSurvivor, 'failed')} failed; ` +
      `killed worker: ${onVictim.length} sessions, ${sum(onVictim, 'ok')} ok, ${sum(onVictim, 'failed')} failed`,
  );
  assert.ok(onSurvivor.length > 0, 'some sessions were on the surviving worker');
  assert.equal(sum(onSurvivor, 'failed'), 0, 'no request failed on the surviving worker');
  assert.equal(sum(onSurvivor, 'ok'), onSurvivor.length * perSession);

  // New connections are served, by both workers again once the replacement listens.
  const after = await Promise.all(
    Array.from({ length: 40 }, (_, i) => h1Request(port, `/after/${i}`)),
  );
  assert.ok(after.every((r) => r.status === 200));
  await eventually(
    () =>
      p.lines.filter((l) => l.source === 'access' && String(l.path).startsWith('/after/'))
        .length === 40,
    10_000,
    'access lines of the later requests',
  );
  const laterPids = new Set(
    p.lines
      .filter((l) => l.source === 'access' && String(l.path).startsWith('/after/'))
      .map((l) => l.pid),
  );
  assert.ok(!laterPids.has(victim));

  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0);
  await eventually(() => !alive(Number(replaced.worker_pid)), 5000, 'replacement gone');
});
