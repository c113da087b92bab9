import { ErrorCode, PillionError } from '../core/errors.ts';
import { LOG_FLAGS_HELP } from '../logs/flags.ts';

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
  pillion --version                      print the version
  pillion --help                         print this help

Run 'pillion run --help' for the flags of run.
`;

export const RUN_HELP = `Usage: pillion run [flags] -- CMD [ARGS...]
       pillion run --app-port N [flags]

Starts CMD as Pillion's child (no shell) and serves it over HTTPS (HTTP/1.1 and HTTP/2) on
--listen, proxying to the app's plain HTTP port. Without CMD, attaches to an app that is
already listening on --app-port.

Flags:
  --listen HOST:PORT     where HTTPS is served (default 0.0.0.0:8443)
  --app-port N           the app's HTTP port (default: detected from the app's process tree)
  --app-protocol P       http1 (default) or h2c: cleartext HTTP/2 to the app, for gRPC
  --cert FILE            PEM certificate chain (with --key; default: a generated self-signed one)
  --key FILE             PEM private key for --cert
  --drain-timeout D      how long requests in flight may finish on shutdown (default 10s)
  --stop-timeout D       grace between the stop signal and SIGKILL for the app (default 10s)
  --ready-timeout D      how long a request waits for the app to be ready before 503 (default 10s)
  -c, --config FILE      the config file (default $PILLION_CONFIG, else ./pillion.yaml if
                         present); each flag overrides its field of the file
  --state-dir DIR        where the generated certificate is kept
                         (default $PILLION_STATE_DIR, else $XDG_STATE_HOME/pillion,
                          else ~/.local/state/pillion)

Lifecycle (see docs/lifecycle.md):
  --restart POLICY       never | on-failure | always (default on-failure)
  --max-restarts N       give up after N restarts and exit with the app's code (default no limit)
  --backoff-base D       delay before the first restart, doubling each time (default 1s)
  --backoff-max D        the delay's cap (default 5m)
  --backoff-reset D      an instance that ran this long resets the delay (default 10m)
  --restart-window D     how long requests are held while the app restarts (default 10s)
  --readiness CHECK      tcp | http:/PATH[=STATUS] | exec:COMMAND (default tcp)
  --readiness-interval D keep checking readiness this often once ready (default 0: only at start)
  --liveness CHECK       same forms; failing --liveness-failures times in a row restarts the app
  --liveness-interval D  time between liveness checks (default 10s)
  --liveness-failures N  consecutive failures before a restart (default 3)
  --startup-grace D      liveness failures do not count this long after a start (default 0)
  --probe-timeout D      timeout of one check (default 1s)
  --drain-delay D        on SIGTERM, keep serving new requests this long, not ready (default 0)
  --stop-signal SIG      the signal that stops the app (default: the one Pillion got)
  --signal-group         send signals to the app's whole process group
  --remap-exit C[:N]     exit with N (default 0) when the app exits with C; repeatable
  -h, --help             print this help

${LOG_FLAGS_HELP}
Durations are seconds (10) or carry a unit (500ms, 10s, 2m).
The app gets PORT in its environment unless PORT is already set.
`;
