// `pillion inject` on a corpus of real-world-shaped manifests (test/fixtures/inject/NAME.yaml,
// flags in NAME.args): each output is its golden file (UPDATE_GOLDEN=1 rewrites them), inject
// is idempotent on it, and every object out validates against its kind's OpenAPI schema with
// no unknown field. Then the inputs it refuses, each named by document, kind and name.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { checkObject, objectsOf } from '../../test/inject/k8s-schema.ts';
import { parseInjectArgs } from '../cli/inject.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { type InjectOptions, inject } from './index.ts';
import { pillionContainer, SIDECAR_NAME } from './sidecar.ts';

const DIR = new URL('../../test/fixtures/inject/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, DIR), 'utf8');
const CASES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml') && !f.endsWith('.golden.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length));

function optsOf(name: string): InjectOptions {
  const args = existsSync(new URL(`${name}.args`, DIR))
    ? read(`${name}.args`).split('\n').filter(Boolean)
    : [];
  return parseInjectArgs(args).opts;
}

const run = (source: string, text: string, opts: InjectOptions): string =>
  inject([{ source, text }], opts)[0].text;

describe('the corpus', () => {
  test('has the shapes it is meant to have', () => {
    assert.ok(CASES.length >= 8, CASES.join(', '));
    const all = CASES.map((c) => read(`${c}.yaml`)).join('\n');
    for (const kind of [
      'Pod',
      'Deployment',
      'StatefulSet',
      'DaemonSet',
      'ReplicaSet',
      'Job',
      'CronJob',
      'List',
    ])
      assert.match(all, new RegExp(`^\\s*-?\\s*kind: ${kind}$`, 'm'), kind);
    assert.match(all, /# Source: /); // Helm-rendered
    assert.match(all, /initContainers:/);
    assert.match(all, /name: pillion\n/); // injected already
  });

  for (const name of CASES) {
    test(name, () => {
      const opts = optsOf(name);
      const input = read(`${name}.yaml`);
      const out = run(`${name}.yaml`, input, opts);
      const golden = `${name}.golden.yaml`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(new URL(golden, DIR), out);
      assert.equal(out, read(golden), `${name}: differs from ${golden}`);
      // Idempotent: its own output comes back byte for byte.
      assert.equal(run(golden, out, opts), out);
      const docs = parseAllDocuments(out);
      const objects = objectsOf((Array.isArray(docs) ? docs : [docs]).map((d) => d.toJSON()));
      assert.ok(objects.length > 0);
      for (const o of objects) checkObject(o);
      // Every pod template has exactly one Pillion.
      const text = JSON.stringify(objects);
      const pods = (text.match(/"containers":/g) ?? []).length;
      assert.equal((text.match(/"name":"pillion","image"/g) ?? []).length, pods, name);
    });
  }
});

describe('what inject keeps', () => {
  test('comments, key order and documents without a pod byte for byte', () => {
    const input = read('deployment-and-service.yaml');
    const out = run('d.yaml', input, optsOf('deployment-and-service'));
    for (const comment of ['# The web app.', '# inline', '# Left as it is: no pod template here.'])
      assert.ok(out.includes(comment), comment);
    const configMap = input.slice(input.lastIndexOf('---'));
    assert.ok(out.endsWith(configMap));
    const keys = (t: string) => [...t.matchAll(/^(\w+):/gm)].map((m) => m[1]);
    assert.deepEqual(keys(out), keys(input));
  });

  test('a stream with nothing to inject comes back unchanged', () => {
    const text =
      '# just a service\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 1}]}\n';
    assert.equal(run('s.yaml', text, optsOf('none')), text);
  });

  test('--classic puts Pillion among the containers, but Jobs and CronJobs keep the native form', () => {
    const out = run('c.yaml', read('cronjob-and-job.yaml'), optsOf('cronjob-and-job'));
    const [cron, job, deploy] = objectsOf(parseAllDocuments(out).map((d) => d.toJSON())) as {
      kind: string;
      spec: Record<string, unknown>;
    }[];
    type Pod = {
      containers: { name: string }[];
      initContainers?: { name: string; restartPolicy?: string }[];
    };
    const pod = (o: unknown, ...path: string[]): Pod =>
      path.reduce((x, k) => (x as Record<string, unknown>)[k], o) as Pod;
    for (const p of [
      pod(cron, 'spec', 'jobTemplate', 'spec', 'template', 'spec'),
      pod(job, 'spec', 'template', 'spec'),
    ])
      assert.deepEqual(
        p.initContainers?.map((c) => [c.name, c.restartPolicy]),
        [['pillion', 'Always']],
      );
    const d = pod(deploy, 'spec', 'template', 'spec');
    assert.deepEqual(
      d.containers.map((c) => c.name),
      ['api', 'pillion'],
    );
    assert.equal(d.initContainers, undefined);
  });

  test('the sidecar has the shape the deploy manifests rely on', () => {
    const c = pillionContainer({ image: 'i', appPort: 8080, configMap: 'c', native: true });
    assert.equal(c.name, SIDECAR_NAME);
    assert.equal(c.restartPolicy, 'Always');
    assert.deepEqual(c.args, [
      'run',
      '--config',
      '/etc/pillion/pillion.yaml',
      '--app-port',
      '8080',
      '--probes',
      '0.0.0.0:14020',
    ]);
    assert.deepEqual(
      c.ports?.map((p) => [p.name, p.containerPort]),
      [
        ['https', 8443],
        ['pillion-probes', 14020],
      ],
    );
    assert.equal(c.startupProbe?.httpGet?.path, '/healthz');
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    assert.equal(
      pillionContainer({ image: 'i', appPort: 1, configMap: 'c', native: false }).restartPolicy,
      undefined,
    );
  });
});

const DEPLOY = (containers: string, extra = '') =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n${extra}      containers:\n${containers}`;
const APP = '      - name: web\n        image: w\n        ports: [{containerPort: 8080}]\n';

describe('inputs inject refuses, naming where', () => {
  const cases: [string, string, RegExp][] = [
    [
      'a YAML syntax error',
      `${DEPLOY(APP)}---\nkind: [unclosed\n`,
      /^x\.yaml: document 2: YAML syntax error at line \d+/,
    ],
    [
      'a document that is a list',
      `${DEPLOY(APP)}---\n- a\n- b\n`,
      /document 2: is not a Kubernetes object/,
    ],
    ['an object without kind', 'apiVersion: v1\nmetadata: {name: x}\n', /document 1: has no kind/],
    [
      'a Deployment without a pod template',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {}\n',
      /document 1 \(Deployment web\): spec\.template\.spec is missing or not a map/,
    ],
    [
      'no containers',
      DEPLOY('        []\n'),
      /\(Deployment web\): spec\.template\.spec\.containers must be a list of containers/,
    ],
    [
      'no app port',
      DEPLOY('      - name: web\n        image: w\n'),
      /container 'web' declares no containerPort; give the app's port with --app-port/,
    ],
    [
      'two ports, none named http',
      DEPLOY(
        '      - name: web\n        image: w\n        ports: [{containerPort: 1}, {containerPort: 2}]\n',
      ),
      /declares 2 ports and none is named http/,
    ],
    [
      'a port Pillion needs',
      DEPLOY(
        `${APP}      - name: other\n        image: o\n        ports: [{containerPort: 8443}]\n`,
      ),
      /container 'other' uses port 8443, which Pillion needs/,
    ],
    [
      'a volume name Pillion needs',
      DEPLOY(APP, '      volumes: [{name: pillion-state, emptyDir: {}}]\n'),
      /a volume is named 'pillion-state' already/,
    ],
    [
      'a List whose items are no list',
      'apiVersion: v1\nkind: List\nitems: {a: 1}\n',
      /document 1 \(List\): items is not a list/,
    ],
    [
      'a bad item of a List',
      'apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  metadata: {name: p}\n  spec: {}\n',
      /document 1 \(List\) item 1 \(Pod p\): spec\.containers must be a list/,
    ],
  ];
  for (const [what, text, message] of cases) {
    test(what, () => {
      assert.throws(
        () =>
          inject(
            [
              { source: 'ok.yaml', text: DEPLOY(APP) },
              { source: 'x.yaml', text },
            ],
            optsOf('none'),
          ),
        (err: unknown) => {
          assert.ok(err instanceof PillionError);
          assert.equal(err.code, ErrorCode.INJECT_INVALID);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  test('a bad flag is a usage error', () => {
    for (const args of [['--app-port', 'x'], ['-o', 'a', '-i', '-f', 'f'], ['-i'], ['stray']])
      assert.throws(
        () => parseInjectArgs(args),
        (e: PillionError) => e.code === ErrorCode.USAGE,
      );
  });
});
