// Every manifest under deploy/, rendered as its kustomization would be, is valid against the
// Kubernetes OpenAPI schema of its kind (kubernetes-models 5.1.0, offline) and has no field
// the schema does not know; the pieces agree with each other and with Pillion's drain; and
// `pillion validate` accepts the shipped pillion.yaml with the Deployment's own flags and the
// shipped Secret's certificate.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { BIN, tempDir } from '../e2e/harness.ts';
import {
  DEPLOY,
  kustomizations,
  nameOf,
  type Obj,
  podContainers,
  podSpec,
  renderKustomization,
  schemaErrors,
  unknownFields,
  validatorFor,
  yamlFiles,
} from './manifests.ts';

const run = promisify(execFile);
const rendered = kustomizations().map((dir) => ({ dir, ...renderKustomization(dir) }));
const all = rendered.flatMap((r) => r.objects);
const base = rendered.find((r) => r.dir.endsWith('/base'));
assert.ok(base, 'deploy/base');
const find = (kind: string): Obj => {
  const hit = base.objects.find((o) => o.obj.kind === kind);
  assert.ok(hit, `deploy/base has a ${kind}`);
  return hit.obj;
};
const seconds = (d: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(d);
  assert.ok(m, `a duration: ${d}`);
  return Number(m[1]) * ({ ms: 0.001, s: 1, m: 60 }[m[2] ?? 's'] ?? 1);
};

test('every manifest is valid against the OpenAPI schema of its kind, with no unknown field', async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const { obj, file } of all) {
    if (obj.kind === 'ServiceMonitor') continue; // a CRD: checked below
    const validate = await validatorFor(obj.apiVersion, obj.kind);
    if (!validate) {
      problems.push(`${file}: ${nameOf(obj)}: no schema for ${obj.apiVersion}`);
      continue;
    }
    checked++;
    for (const e of schemaErrors(obj, validate)) problems.push(`${file}: ${nameOf(obj)}: ${e}`);
    for (const f of unknownFields(obj, validate))
      problems.push(`${file}: ${nameOf(obj)}: unknown field ${f}`);
  }
  assert.deepEqual(problems, []);
  assert.ok(checked >= 6, `${checked} objects checked`);
});

test('the checks catch a wrong type and a misspelt field', async () => {
  const validate = await validatorFor('apps/v1', 'Deployment');
  assert.ok(validate);
  const bad = structuredClone(find('Deployment'));
  bad.spec.template.spec.initContainers[0].ports[0].containerPort = 'eighty';
  assert.match(
    schemaErrors(bad, validate).join('\n'),
    /initContainers\/0\/ports\/0\/containerPort/,
  );
  const typo = structuredClone(find('Deployment'));
  typo.spec.template.spec.initContainers[0].restartPolicyy = 'Always';
  typo.spec.template.spec.terminationGracePeriod = 30;
  assert.deepEqual(schemaErrors(typo, validate), []); // what kubernetes-models alone says
  assert.deepEqual(unknownFields(typo, validate).sort(), [
    'spec.template.spec.initContainers.0.restartPolicyy',
    'spec.template.spec.terminationGracePeriod',
  ]);
});

test('every YAML file under deploy/ is part of a kustomization', () => {
  const used = new Set(all.map((o) => join(DEPLOY, '..', o.file)));
  for (const r of rendered) used.add(join(r.dir, 'kustomization.yaml'));
  used.add(join(DEPLOY, 'base', 'pillion.yaml')); // the ConfigMap's file
  assert.deepEqual(
    yamlFiles().filter((f) => !used.has(f)),
    [],
  );
});

test('Pillion is a native sidecar of the shape inject writes, in the Deployment and the Job', () => {
  for (const { obj } of all.filter((o) => ['Deployment', 'Job'].includes(o.obj.kind))) {
    const spec = podSpec(obj) as Obj;
    const [pillion] = spec.initContainers as Obj[];
    assert.equal(pillion.name, 'pillion');
    assert.equal(pillion.restartPolicy, 'Always');
    assert.deepEqual(pillion.args.slice(-4), ['--app-port', '8080', '--probes', '0.0.0.0:14020']);
    assert.deepEqual(
      pillion.ports.map((p: Obj) => [p.name, p.containerPort]),
      [
        ['https', 8443],
        ['pillion-probes', 14020],
      ],
    );
    // The startup probe must be able to pass before the app container exists (test/k8s/
    // pod-lifecycle: /readyz waits for the app).
    assert.equal(pillion.startupProbe.httpGet.path, '/healthz');
    assert.equal(pillion.readinessProbe.httpGet.path, '/readyz');
    assert.equal(pillion.livenessProbe.httpGet.path, '/healthz');
    for (const p of [pillion.startupProbe, pillion.readinessProbe, pillion.livenessProbe])
      assert.equal(p.httpGet.port, 'pillion-probes');
    const sc = pillion.securityContext;
    assert.equal(sc.runAsNonRoot, true);
    assert.equal(sc.readOnlyRootFilesystem, true);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    const env = Object.fromEntries(pillion.env.map((e: Obj) => [e.name, e.value]));
    assert.equal(env.PILLION_STATE_DIR, '/var/lib/pillion');
    const state = pillion.volumeMounts.find((m: Obj) => m.mountPath === '/var/lib/pillion');
    assert.ok(spec.volumes.find((v: Obj) => v.name === state.name).emptyDir);
    for (const c of podContainers(obj)) {
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory, `${c.name} requests`);
      assert.ok(c.resources.limits.memory, `${c.name} limits`);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
    }
    assert.match(pillion.image, /^localhost\/pillion:\d/, 'the kustomization sets the image');
  }
});

test('config, certificate, Service, NetworkPolicy, monitoring and grace period fit together', () => {
  const deploy = find('Deployment');
  const spec = deploy.spec.template.spec;
  const [pillion] = spec.initContainers;
  const app = spec.containers[0];
  const mount = (path: string): Obj => {
    const m = pillion.volumeMounts.find((v: Obj) => v.mountPath === path);
    assert.ok(m, `a mount at ${path}`);
    return spec.volumes.find((v: Obj) => v.name === m.name);
  };
  // The ConfigMap and the Secret are mounted as directories (no subPath): an update is a
  // `..data` swap the directory watch sees.
  assert.ok(pillion.volumeMounts.every((m: Obj) => m.subPath === undefined));
  const cm = find('ConfigMap');
  assert.equal(mount('/etc/pillion').configMap.name, cm.metadata.name);
  assert.ok(cm.data['pillion.yaml']);
  const secret = find('Secret');
  assert.equal(secret.type, 'kubernetes.io/tls');
  assert.equal(mount('/etc/pillion-tls').secret.secretName, secret.metadata.name);
  const cfg = parse(cm.data['pillion.yaml']);
  assert.equal(cfg.ingress.tls.cert, '/etc/pillion-tls/tls.crt');
  assert.equal(cfg.ingress.tls.key, '/etc/pillion-tls/tls.key');

  // The Service targets Pillion's HTTPS port, never the app's.
  const svc = find('Service');
  const labels = deploy.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(labels[k], v);
  const https = svc.spec.ports.find((p: Obj) => p.name === 'https');
  assert.equal(https.targetPort, 'https');
  const names = pillion.ports.map((p: Obj) => p.name);
  for (const p of svc.spec.ports) assert.ok(names.includes(p.targetPort), p.targetPort);

  // The NetworkPolicy selects the pods and lets in Pillion's ports only, not the app's.
  const np = find('NetworkPolicy');
  for (const [k, v] of Object.entries(np.spec.podSelector.matchLabels)) assert.equal(labels[k], v);
  assert.deepEqual(np.spec.policyTypes, ['Ingress']);
  const open = np.spec.ingress
    .flatMap((r: Obj) => r.ports.map((p: Obj) => p.port))
    .sort((a: number, b: number) => a - b);
  assert.deepEqual(open, [8443, 14020]);
  const appPort = Number(pillion.args[pillion.args.indexOf('--app-port') + 1]);
  assert.ok(!open.includes(appPort));

  // Scrape annotations and the ServiceMonitor point at the probe listener's /metrics.
  const ann = deploy.spec.template.metadata.annotations;
  assert.equal(ann['prometheus.io/scrape'], 'true');
  assert.equal(ann['prometheus.io/port'], '14020');
  assert.equal(ann['prometheus.io/path'], '/metrics');
  const sm = all.find((o) => o.obj.kind === 'ServiceMonitor')?.obj;
  assert.ok(sm, 'deploy/monitoring has a ServiceMonitor');
  assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  assert.deepEqual(Object.keys(sm.spec).sort(), ['endpoints', 'selector']);
  for (const [k, v] of Object.entries(sm.spec.selector.matchLabels))
    assert.equal(svc.metadata.labels[k], v);
  const metrics = svc.spec.ports.find((p: Obj) => p.name === sm.spec.endpoints[0].port);
  assert.equal(metrics.targetPort, 'pillion-probes');
  assert.equal(sm.spec.endpoints[0].path, '/metrics');

  // One grace period for the pod: the app's preStop, the app's own stop (allowed as much as
  // Pillion allows an app it runs, app.stop_timeout), then Pillion's drain, all inside it.
  const preStop = app.lifecycle.preStop.sleep.seconds;
  const budget =
    preStop + seconds(cfg.app.stop_timeout) + seconds(cfg.drain.delay) + seconds(cfg.drain.timeout);
  assert.ok(
    budget < spec.terminationGracePeriodSeconds,
    `${budget} s of stop inside ${spec.terminationGracePeriodSeconds} s`,
  );
});

test('pillion validate accepts the shipped pillion.yaml with the Deployment flags and the Secret', async () => {
  const deploy = find('Deployment');
  const [pillion] = deploy.spec.template.spec.initContainers;
  const secret = find('Secret');
  const dir = tempDir();
  for (const f of ['tls.crt', 'tls.key'])
    writeFileSync(join(dir, f), Buffer.from(secret.data[f], 'base64'));
  // The container's flags as they are, but the config from the checkout and the certificate
  // where this test wrote the Secret.
  const args = [...pillion.args];
  assert.equal(args[0], 'run');
  const at = args.indexOf('--config');
  args.splice(at, 2);
  const file = join(DEPLOY, 'base', 'pillion.yaml');
  const flags = [...args.slice(1), '--cert', join(dir, 'tls.crt'), '--key', join(dir, 'tls.key')];
  const r = await run(process.execPath, [BIN, 'validate', file, ...flags]);
  assert.equal(r.stderr, '');
  // And a broken copy is refused with its position, so the check above can fail.
  const broken = join(dir, 'pillion.yaml');
  writeFileSync(broken, readFileSync(file, 'utf8').replace('timeout: 10s', 'timeout: soon'));
  await assert.rejects(run(process.execPath, [BIN, 'validate', broken, ...flags]), (err: Obj) => {
    assert.match(err.stderr, /pillion\.yaml:\d+:\d+: drain\.timeout/);
    return true;
  });
});
