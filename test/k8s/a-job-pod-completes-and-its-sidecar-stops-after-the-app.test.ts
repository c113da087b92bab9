// The shipped Job's pod, run by the kubelet-like runner (kubelet.ts): Pillion passes its
// startupProbe, the batch container (the manifest's own python3 script) starts and is served
// over HTTPS through Pillion while it works; once it completes, the kubelet stops Pillion,
// which exits 0, so the pod Succeeds instead of waiting on its sidecar.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { httpsGet, Kubelet } from './kubelet.ts';
import { DEPLOY, type Obj, renderKustomization } from './manifests.ts';

test('the Job pod: the app completes, then Pillion is stopped and exits 0, and the pod Succeeds', async (t) => {
  const objects = renderKustomization(join(DEPLOY, 'job')).objects.map((o) => o.obj);
  const job = objects.find((o) => o.kind === 'Job') as Obj;
  const spec = structuredClone(job.spec.template.spec);
  const [pillion] = spec.initContainers;
  const k = new Kubelet(spec, objects);
  t.after(() => k.cleanup());

  await k.start();
  assert.ok(k.at('pillion', 'startupProbe passed') < k.at('batch', 'started'));
  // Sent at once: Pillion holds it until the batch container listens.
  const reply = await httpsGet(k.url(pillion, 'https', '/', 'https'));
  assert.deepEqual(reply, { status: 200, body: 'working\n' });

  const phase = await k.complete();
  assert.equal(phase, 'Succeeded');
  assert.deepEqual(k.containers.get('batch')?.exit, { code: 0, signal: null });
  const p = k.containers.get('pillion');
  assert.deepEqual(p?.exit, { code: 0, signal: null }, p?.lines.join('\n'));
  // The sidecar was signalled only after the app container had completed.
  assert.ok(k.at('pillion', 'SIGTERM') >= k.at('batch', /^exited/), JSON.stringify(k.events));
  assert.ok(!k.events.some((e) => e.what.startsWith('SIGKILL')), JSON.stringify(k.events));
  const logs = (p?.lines ?? []).map((l) => JSON.parse(l) as Obj);
  assert.ok(logs.some((l) => l.msg === 'stop signal received; draining'));
  assert.ok(logs.some((l) => l.source === 'access' && l.status === 200));
});
