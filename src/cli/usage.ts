import { FLAGS } from '../config/flags.ts';
import { schemaAt, shownDefault } from '../config/schema-json.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';

/** A command-line mistake: printed with a pointer to --help, exit 2. */
export function usageError(message: string, command = 'pillion'): PillionError {
  return new PillionError(ErrorCode.USAGE, `${message}\nRun '${command} --help' for usage.`);
}

export const MAIN_HELP = `pillion — a sidecar for any application

Usage:
  pillion run [flags] -- CMD [ARGS...]   start the app and serve it over HTTPS
  pillion run --app-port N [flags]       attach to an app already listening on port N
  pillion validate [FILE]                check a pillion.yaml; exit 0 if valid, 1 if not
  pillion config [FILE]                  print the effective config, secrets redacted
  pillion schema                         print the JSON Schema of pillion.yaml
  pillion inject [-f FILE|DIR|-] [-o OUT | -i]
                                         add Pillion as a sidecar to Kubernetes manifests
  pillion status [--json]                what the running Pillion reports: app, ports, figures
  pillion restart                        restart the running app (requests held) and wait
  pillion reload                         reload the running Pillion's config file
  pillion cert [trust|make-ca|make-leaf] show the served certificate; trust the local CA;
                                         make a CA and certificates for dev and tests
  pillion version, pillion --version    print the version
  pillion --help                         print this help

Run 'pillion run --help' for the flags of run, 'pillion status --help' for how status,
restart and reload find the running Pillion (--admin, --token-file). The dashboard is at the
admin address (default http://127.0.0.1:14000/).
`;

/** One help line per flag: its field's description and default, from the schema. */
function flagLines(): string {
  const lines = FLAGS.map((f) => {
    const s = schemaAt(f.path);
    const head = `  --${f.name}${f.arg ? ` ${f.arg}` : ''}`;
    const def = s ? shownDefault(s) : undefined;
    const what = f.kind === 'negate' ? `sets ${f.path} to false` : `sets ${f.path}`;
    const desc = (s?.description ?? '').replace(/\s*\(`--[^)]*\)/g, '').replace(/`/g, '');
    const text = `${what}: ${desc}${def ? ` (default ${def.replace(/`/g, '')})` : ''}`;
    return `${head.padEnd(26)}${wrap(text, 74).join(`\n${' '.repeat(26)}`)}`;
  });
  return lines.join('\n');
}

/** Words in lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...out, line];
}

export const RUN_HELP = `Usage: pillion run [flags] -- CMD [ARGS...]
       pillion run --app-port N [flags]

Starts CMD as Pillion's child (no shell) and serves it over HTTPS (HTTP/1.1 and HTTP/2) on
--listen, proxying to the app's plain HTTP port. Without CMD, attaches to an app that is
already listening on --app-port. Each flag sets one field of pillion.yaml (docs/config.md) and
overrides the file.

  -c, --config FILE       the config file (default $PILLION_CONFIG, else ./pillion.yaml if present)
  -h, --help              print this help
${flagLines()}

CHECK is tcp, http:/PATH[=STATUS] or exec:COMMAND (run by /bin/sh).
Durations are seconds (10) or carry a unit (500ms, 10s, 2m); sizes are bytes or carry a unit
(64K, 16MiB). The app gets PORT in its environment unless PORT is already set.
`;
