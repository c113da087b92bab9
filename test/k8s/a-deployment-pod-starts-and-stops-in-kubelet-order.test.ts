// The shipped Deployment's pod, run by the kubelet-like runner (kubelet.ts): Pillion, the real
// CLI in attach mode, passes its startupProbe before the app container (the manifest's own
// python3 http.server) is started; the pod serves HTTPS through Pillion; on deletion the app's
// preStop keeps it serving, the app stops first, then Pillion, whose readiness is false from
// its SIGTERM, drains and exits 0, all within terminationGracePeriodSeconds.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { httpStatus, httpsGet, Kubelet } from './kubelet.ts';
import { DEPLOY, type Obj, renderKustomization } from './manifests.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function deploymentPod(): { spec: Obj; objects: Obj[] } {
  const objects = renderKustomization(join(DEPLOY, 'base')).objects.map((o) => o.obj);
  const deploy = objects.find((o) => o.kind === 'Deployment') as Obj;
  return { spec: structuredClone(deploy.spec.template.spec), objects };
}

/** Polls /readyz every 50 ms until Pillion exits: [wall-clock ms at send, status or 0]. */
function watchReadiness(
  k: Kubelet,
  pillion: Obj,
): { samples: [number, number][]; done: Promise<void> } {
  const samples: [number, number][] = [];
  const r = k.containers.get('pillion');
  const url = k.url(pillion, 'pillion-probes', '/readyz');
  const done = (async () => {
    while (r && !r.exit) {
      const sent = Date.now();
      samples.push([sent, await httpStatus(url, 500)]);
      await sleep(50);
    }
  })();
  return { samples, done };
}

test('the Deployment pod: startupProbe before the app, HTTPS through Pillion, then the app stops first and Pillion drains within the grace period', async (t) => {
  const { spec, objects } = deploymentPod();
  const [pillion] = spec.initContainers;
  const k = new Kubelet(spec, objects);
  t.after(() => k.cleanup());

  let beforeApp: { readyz: number; healthz: number } | undefined;
  await k.start({
    beforeApps: async () => {
      beforeApp = {
        readyz: await httpStatus(k.url(pillion, 'pillion-probes', '/readyz')),
        healthz: await httpStatus(k.url(pillion, 'pillion-probes', '/healthz')),
      };
    },
  });
  assert.ok(
    k.at('pillion', 'startupProbe passed') < k.at('app', 'started'),
    JSON.stringify(k.events),
  );
  // Before the app container exists Pillion is healthy but not ready: a startupProbe on
  // /readyz would never pass, and the kubelet would never start the app.
  assert.deepEqual(beforeApp, { readyz: 503, healthz: 200 });

  await k.ready('pillion');
  const served = await httpsGet(k.url(pillion, 'https', '/', 'https'));
  assert.equal(served.status, 200);
  assert.match(served.body, /Directory listing/);

  const watch = watchReadiness(k, pillion);
  const deleted = performance.now();
  const terminated = k.terminate();
  // During the app's preStop the pod still serves, while its endpoints are being removed.
  await sleep(1000);
  assert.equal((await httpsGet(k.url(pillion, 'https', '/', 'https'))).status, 200);
  await terminated;
  const gone = performance.now();
  await watch.done;

  const order = ['app:preStop', 'app:SIGTERM', 'pillion:SIGTERM'].map((e) => {
    const [c, what] = e.split(':');
    return k.at(c, what);
  });
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    JSON.stringify(k.events),
  );
  assert.ok(
    k.at('pillion', 'SIGTERM') >= k.at('app', /^exited/),
    'Pillion is stopped after the app',
  );
  const p = k.containers.get('pillion');
  assert.deepEqual(p?.exit, { code: 0, signal: null }, p?.lines.join('\n'));
  assert.ok(!k.events.some((e) => e.what.startsWith('SIGKILL')), JSON.stringify(k.events));
  assert.ok(gone - deleted < spec.terminationGracePeriodSeconds * 1000);
  const logs = (p?.lines ?? []).map((l) => JSON.parse(l) as Obj);
  assert.ok(logs.some((l) => l.msg === 'stop signal received; draining'));
  assert.ok(logs.some((l) => l.msg === 'attached to an app Pillion did not start'));

  // Readiness: 200 while the app stopped, and never 200 once Pillion had its SIGTERM (it is
  // false from the signal on, before the line below is written; clocks are the machine's).
  const draining = Date.parse(logs.find((l) => l.msg === 'stop signal received; draining')?.time);
  const after = watch.samples.filter(([sent]) => sent > draining);
  assert.ok(
    watch.samples.some(([sent, s]) => sent < draining && s === 200),
    'ready until then',
  );
  assert.deepEqual(
    after.filter(([, s]) => s === 200),
    [],
  );
});
