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
  --cert FILE            PEM certificate chain (with --key; default: a generated self-signed one)
  --key FILE             PEM private key for --cert
  --drain-timeout D      how long requests in flight may finish on shutdown (default 10s)
  --stop-timeout D       grace between the stop signal and SIGKILL for the app (default 10s)
  --ready-timeout D      how long a request waits for the app to be ready before 503 (default 10s)
  --state-dir DIR        where the generated certificate is kept
                         (default $PILLION_STATE_DIR, else $XDG_STATE_HOME/pillion,
                          else ~/.local/state/pillion)
  -h, --help             print this help

${LOG_FLAGS_HELP}
Durations are seconds (10) or carry a unit (500ms, 10s, 2m).
The app gets PORT in its environment unless PORT is already set.
`;
