// The flags of `pillion run`, each mapped onto one field of pillion.yaml: a flag's text is set
// into the file's YAML tree at its field, and the merged tree is validated once, so a flag and
// the field it overrides can never be read two ways.
import type { Document, Node } from 'yaml';
import { ErrorCode, PillionError } from '../core/errors.ts';
import { didYouMean } from './suggest.ts';
import type { Issue } from './validate.ts';
import { eachNode, isScalar } from './yaml-nodes.ts';

/**
 * How a flag's text lands on its field: `text` as is, `bool` sets true, `negate` sets false,
 * `list` splits on commas, `repeat` (given many times) splits each on commas, `check` reads
 * `tcp`, `http:/PATH[=STATUS]` or `exec:COMMAND` into a health-check map.
 */
export type FlagKind = 'text' | 'bool' | 'negate' | 'list' | 'repeat' | 'check';

export interface Flag {
  name: string;
  path: string;
  kind: FlagKind;
  /** The value's placeholder in help. */
  arg?: string;
}

const f = (name: string, path: string, arg?: string, kind: FlagKind = 'text'): Flag => ({
  name,
  path,
  kind,
  ...(arg ? { arg } : {}),
});

/** Every flag of `pillion run` that sets a field, in the order help lists them. */
export const FLAGS: readonly Flag[] = [
  f('listen', 'ingress.listen', 'HOST:PORT'),
  f('app-port', 'app.port', 'N'),
  f('app-protocol', 'app.protocol', 'P'),
  f('cert', 'ingress.tls.cert', 'FILE'),
  f('key', 'ingress.tls.key', 'FILE'),
  f('workers', 'ingress.workers', 'N|auto'),
  f('drain-timeout', 'drain.timeout', 'D'),
  f('drain-delay', 'drain.delay', 'D'),
  f('stop-timeout', 'app.stop_timeout', 'D'),
  f('ready-timeout', 'app.ready_timeout', 'D'),
  f('state-dir', 'state_dir', 'DIR'),
  f('restart', 'app.restart', 'POLICY'),
  f('max-restarts', 'app.max_restarts', 'N'),
  f('max-start-failures', 'app.max_start_failures', 'N'),
  f('restart-window', 'app.restart_window', 'D'),
  f('backoff-base', 'app.backoff.base', 'D'),
  f('backoff-max', 'app.backoff.max', 'D'),
  f('backoff-reset', 'app.backoff.reset', 'D'),
  f('readiness', 'app.readiness', 'CHECK', 'check'),
  f('readiness-interval', 'app.readiness.interval', 'D'),
  f('liveness', 'app.liveness', 'CHECK', 'check'),
  f('liveness-interval', 'app.liveness.interval', 'D'),
  f('liveness-failures', 'app.liveness.failures', 'N'),
  f('startup-grace', 'app.startup_grace', 'D'),
  f('probe-timeout', 'app.probe_timeout', 'D'),
  f('stop-signal', 'app.stop_signal', 'SIG'),
  f('signal-group', 'app.signal_group', undefined, 'bool'),
  f('forward-sighup', 'app.forward_sighup', undefined, 'bool'),
  f('remap-exit', 'app.remap_exit', 'C[:N]', 'repeat'),
  f('log-format', 'logs.format', 'F'),
  f('log-level', 'logs.level', 'L'),
  f('log-file', 'logs.file.path', 'PATH'),
  f('log-file-max-size', 'logs.file.max_size', 'S'),
  f('log-file-keep', 'logs.file.keep', 'N'),
  f('log-file-only', 'logs.stdout', undefined, 'negate'),
  f('log-buffer', 'logs.buffer', 'S'),
  f('log-when-full', 'logs.when_full', 'P'),
  f('log-long-lines', 'logs.app.long_lines', 'P'),
  f('log-max-line', 'logs.app.max_line', 'S'),
  f('log-multiline', 'logs.app.multiline', 'D'),
  f('log-stderr-level', 'logs.app.stderr_level', 'L'),
  f('log-otlp-endpoint', 'logs.otlp.endpoint', 'URL'),
  f('admin', 'admin.listen', 'ADDR'),
  f('probes', 'admin.probes', 'HOST:PORT'),
  f('admin-token-file', 'admin.token_file', 'FILE'),
  f('traceparent', 'telemetry.traceparent', undefined, 'bool'),
  f('telemetry-endpoint', 'telemetry.endpoint', 'URL'),
  f('no-access-log', 'logs.access.enabled', undefined, 'negate'),
  f('access-log-format', 'logs.access.format', 'F'),
  f('access-log-fields', 'logs.access.fields', 'LIST', 'list'),
  f('log-redact-query', 'logs.access.redact_query', 'LIST', 'list'),
];

const BY_NAME = new Map(FLAGS.map((x) => [x.name, x]));
const BY_PATH = new Map(FLAGS.map((x) => [x.path, `--${x.name}`]));

/** The flag that sets a field (`--listen` for `ingress.listen`), if one does. */
export function flagFor(path: string): string | undefined {
  return BY_PATH.get(path);
}

/** Flags of `pillion run` that set no field. */
const OWN = { config: 'c', help: 'h' } as const;

export interface RunArgs {
  /** Flag values by flag name; `repeat` flags hold every value, in order. */
  values: Map<string, string | boolean | string[]>;
  /** The app's command: what follows `--`. */
  command: string[];
  config?: string;
  help: boolean;
}

function usage(message: string): PillionError {
  return new PillionError(ErrorCode.USAGE, `${message}\nRun 'pillion run --help' for usage.`);
}

/**
 * Splits `pillion run` arguments into flags and the app's command (after `--`). A word that is
 * no flag is the command without its `--`: said so, with the line to type.
 */
export function parseRunArgv(args: readonly string[]): RunArgs {
  const out: RunArgs = { values: new Map(), command: [], help: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.command = args.slice(i + 1);
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      const rest = args.slice(i).join(' ');
      throw usage(
        `'${a}' is not a flag: the command of the app goes after --, as in: pillion run ${args.slice(0, i).join(' ')}${i > 0 ? ' ' : ''}-- ${rest}`,
      );
    }
    const eq = a.indexOf('=');
    const raw = eq === -1 ? a : a.slice(0, eq);
    const inline = eq === -1 ? undefined : a.slice(eq + 1);
    const short = Object.entries(OWN).find(([, s]) => raw === `-${s}`)?.[0];
    const name = short ?? (raw.startsWith('--') ? raw.slice(2) : '');
    if (name === 'help') {
      out.help = true;
      continue;
    }
    const flag = BY_NAME.get(name);
    if (name !== 'config' && !flag) {
      const near = didYouMean(name, [...BY_NAME.keys(), ...Object.keys(OWN)]);
      throw usage(`unknown flag '${raw}'${near ? `; did you mean '--${near}'?` : ''}`);
    }
    if (flag && (flag.kind === 'bool' || flag.kind === 'negate')) {
      if (inline !== undefined) throw usage(`${raw} takes no value`);
      out.values.set(name, true);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw usage(`${raw} needs a value`);
    if (name === 'config') out.config = value;
    else if (flag?.kind === 'repeat')
      out.values.set(name, [...((out.values.get(name) as string[]) ?? []), value]);
    else out.values.set(name, value);
  }
  return out;
}

/** `tcp`, `http:/PATH[=STATUS]` or `exec:COMMAND` as the check map of pillion.yaml. */
function checkOf(text: string): Record<string, unknown> | undefined {
  if (text === 'tcp') return { tcp: true };
  if (/^http:\/\S*$/.test(text)) return { http: text.slice(5) };
  // A flag's command is one string, as a shell takes it; the file's is a list of arguments.
  if (text.startsWith('exec:') && text.length > 5)
    return { exec: ['/bin/sh', '-c', text.slice(5)] };
  return undefined;
}

const split = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * Sets each flag's value into the document at its field (and the command at `app.command`);
 * returns the nodes the flags made, with their flag, and the flags that could not be read.
 */
export function applyFlags(
  doc: Document,
  run: Pick<RunArgs, 'values' | 'command'>,
): { flags: Map<Node, string>; issues: Issue[] } {
  const flags = new Map<Node, string>();
  const issues: Issue[] = [];
  // An empty file is an empty map; anything else that is no map keeps its own error.
  const top = doc.contents;
  if (top === null || (isScalar(top) && top.value === null))
    doc.contents = doc.createNode({}) as never;
  const set = (path: string, value: unknown, flag: string): void => {
    const node = doc.createNode(value) as Node;
    const keys = path.split('.');
    try {
      doc.setIn(keys, node);
    } catch {
      // The file holds something else than a map on the way: its own error is reported.
      return;
    }
    // Every node the flag's value made (none of them is the file's).
    eachNode(node, (n) => flags.set(n as Node, flag));
  };
  for (const [name, value] of run.values) {
    const flag = BY_NAME.get(name) as Flag;
    const label = `--${name}`;
    switch (flag.kind) {
      case 'bool':
        set(flag.path, true, label);
        break;
      case 'negate':
        set(flag.path, false, label);
        break;
      case 'list':
        set(flag.path, split(value as string), label);
        break;
      case 'repeat':
        set(flag.path, (value as string[]).flatMap(split), label);
        break;
      case 'check': {
        const check = checkOf(value as string);
        if (!check) {
          issues.push({
            offset: 0,
            path: flag.path,
            flag: label,
            message: 'expected tcp, http:/PATH[=STATUS] or exec:COMMAND',
          });
          break;
        }
        // The check replaces the file's, whatever its kind; the file's interval stays.
        for (const kind of ['http', 'tcp', 'exec']) {
          const at = [...flag.path.split('.'), kind];
          if (doc.hasIn(at)) doc.deleteIn(at);
        }
        for (const [k, v] of Object.entries(check)) set(`${flag.path}.${k}`, v, label);
        break;
      }
      default: {
        let text = value as string;
        // `--stop-signal term` reads as SIGTERM, as kill(1) takes it.
        if (name === 'stop-signal')
          text = /^sig/i.test(text) ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
        set(flag.path, text, label);
      }
    }
  }
  if (run.command.length > 0) set('app.command', run.command, 'the command after --');
  return { flags, issues };
}
