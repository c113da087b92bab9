// `pillion inject`: reads manifests (files, directories, stdin), adds the Pillion sidecar to
// every pod template (inject/), and writes the result to stdout, to -o OUT or in place (-i).
// Everything is read and injected before anything is written, so an error leaves every file
// as it was.
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { VERSION } from '../core/version.ts';
import { type InjectOptions, type Input, inject } from '../inject/index.ts';
import { CONFIG_FILE, HTTPS_PORT, PROBE_PORT } from '../inject/sidecar.ts';
import { usageError } from './usage.ts';

const DEFAULT_IMAGE = `localhost/pillion:${VERSION}`;
const DEFAULT_CONFIG_MAP = 'pillion-config';

export const INJECT_HELP = `Usage: pillion inject [-f FILE|DIR|-]... [-o OUT | -i] [flags]

Adds Pillion as a sidecar to every pod template in Kubernetes manifests (Pod, Deployment,
StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, and the items of a List), and writes them to
stdout. Comments, key order and the other documents are kept; a document with nothing to
change is written back as it was, and a pod that has a container named pillion is left alone,
so inject can run again on its own output. On any error nothing is written.

The sidecar is a native sidecar (an init container with restartPolicy: Always, Kubernetes
>= 1.29) that attaches to the app on localhost: it serves HTTPS on ${HTTPS_PORT} (port https),
/readyz and /healthz on ${PROBE_PORT} (port pillion-probes, for its probes), reads
${CONFIG_FILE} from a ConfigMap, and keeps its state on an emptyDir.

  -f, --filename FILE|DIR|-  a manifest file, a directory of .yaml/.yml files, or - for stdin
                             (default: stdin); may be given more than once
  -o, --output OUT           write to OUT instead of stdout
  -i, --in-place             rewrite each input file
      --app-port N           the app's port (default: the app container's containerPort: its
                             only one, or the one named http). The app container is the one
                             named by the kubectl.kubernetes.io/default-container annotation,
                             else the first
      --image IMAGE          Pillion's image (default ${DEFAULT_IMAGE})
      --config-map NAME      the ConfigMap with pillion.yaml (default ${DEFAULT_CONFIG_MAP})
      --retarget-services    point Services that select an injected pod at port https instead
                             of the app's port
      --classic              a plain sidecar container, for clusters before 1.29 (Jobs and
                             CronJobs keep the native form, so they complete)
  -h, --help                 print this help
`;

export interface InjectArgs {
  files: string[];
  output?: string;
  inPlace: boolean;
  help: boolean;
  opts: InjectOptions;
}

/** The arguments of `pillion inject`; a PILLION_USAGE error for a mistake. */
export function parseInjectArgs(args: string[]): InjectArgs {
  let a: ReturnType<typeof parse>;
  try {
    a = parse(args);
  } catch (err) {
    throw usageError((err as Error).message, 'pillion inject');
  }
  const v = a.values;
  if (a.positionals.length > 0)
    throw usageError(`'${a.positionals[0]}' is not a flag: give files with -f`, 'pillion inject');
  if (v.output !== undefined && v['in-place'])
    throw usageError('give -o OUT or -i, not both', 'pillion inject');
  const files = v.filename ?? ['-'];
  if (v['in-place'] && files.includes('-'))
    throw usageError('-i rewrites files; it cannot rewrite stdin', 'pillion inject');
  let appPort: number | undefined;
  if (v['app-port'] !== undefined) {
    appPort = Number(v['app-port']);
    if (!/^\d+$/.test(v['app-port']) || appPort < 1 || appPort > 65535)
      throw usageError('--app-port must be a port from 1 to 65535', 'pillion inject');
  }
  const opts: InjectOptions = {
    image: v.image ?? DEFAULT_IMAGE,
    configMap: v['config-map'] ?? DEFAULT_CONFIG_MAP,
    retargetServices: v['retarget-services'] === true,
    classic: v.classic === true,
    ...(appPort !== undefined ? { appPort } : {}),
  };
  return {
    files,
    ...(v.output !== undefined ? { output: v.output } : {}),
    inPlace: v['in-place'] === true,
    help: v.help === true,
    opts,
  };
}

/** `pillion inject`: resolves with the exit code; a problem with the input is said on stderr. */
export function injectCommand(args: string[]): number {
  const { files, output, inPlace, help, opts } = parseInjectArgs(args);
  if (help) {
    process.stdout.write(INJECT_HELP);
    return 0;
  }
  try {
    const inputs = files.flatMap(readInputs);
    const outputs = inject(inputs, opts);
    for (const o of outputs) for (const c of o.changes) process.stderr.write(`${o.source}: ${c}\n`);
    if (inPlace) {
      for (const [i, o] of outputs.entries())
        if (o.text !== inputs[i].text) writeAtomically(o.source, o.text);
    } else {
      const text = joinDocuments(outputs.map((o) => o.text));
      if (output !== undefined) writeAtomically(output, text);
      else process.stdout.write(text);
    }
    return 0;
  } catch (err) {
    if (!(err instanceof PillionError)) throw err;
    process.stderr.write(`pillion inject: ${err.message}\n`);
    return 1;
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      filename: { type: 'string', short: 'f', multiple: true },
      output: { type: 'string', short: 'o' },
      'in-place': { type: 'boolean', short: 'i' },
      'app-port': { type: 'string' },
      image: { type: 'string' },
      'config-map': { type: 'string' },
      'retarget-services': { type: 'boolean' },
      classic: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function unreadable(what: string, err: unknown): PillionError {
  const e = err as NodeJS.ErrnoException;
  return new PillionError(
    ErrorCode.INJECT_UNREADABLE,
    `${what} (${e.code ?? e.message}); nothing was written`,
    { cause: err },
  );
}

/** A file, each .yaml/.yml file of a directory (in name order), or stdin for `-`. */
function readInputs(name: string): Input[] {
  try {
    if (name === '-') return [{ source: '(stdin)', text: readFileSync(0, 'utf8') }];
    if (statSync(name).isDirectory()) {
      return readdirSync(name)
        .filter((f) => /\.ya?ml$/.test(f))
        .sort()
        .map((f) => ({ source: join(name, f), text: readFileSync(join(name, f), 'utf8') }));
    }
    return [{ source: name, text: readFileSync(name, 'utf8') }];
  } catch (err) {
    throw unreadable(`cannot read ${name === '-' ? 'stdin' : name}`, err);
  }
}

/** Several files' documents as one stream: a `---` between files that do not start with one. */
function joinDocuments(texts: string[]): string {
  let out = '';
  for (const t of texts) {
    if (t.trim() === '') continue;
    if (out !== '') {
      if (!out.endsWith('\n')) out += '\n';
      if (!/^---(\s|$)/.test(t)) out += '---\n';
    }
    out += t;
  }
  return out;
}

/** Written whole beside the file, then renamed over it: a reader never sees half a file. */
function writeAtomically(file: string, text: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.pillion-inject.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    throw unreadable(`cannot write ${file}`, err);
  }
}
