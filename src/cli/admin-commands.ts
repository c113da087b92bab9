// `pillion status`, `pillion restart` and `pillion reload`: a running Pillion asked over its
// admin API (cli/admin-client.ts finds it the way `pillion run` is configured).
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { PillionError } from '../core/errors.ts';
import { type AdminFlags, adminAction, adminCall, findAdmin } from './admin-client.ts';
import { formatStatus, type StatsReply, type StatusReply } from './status-format.ts';
import { usageError } from './usage.ts';

const FINDING = `Finding the running Pillion:
  --admin ADDR        its admin address: HOST:PORT, unix:/path, or https://HOST:PORT
                      (default: admin.listen from the config file, else 127.0.0.1:14000)
  --token-file FILE   the admin token (default: admin.token_file from the config file, else
                      STATE_DIR/admin-token, written by pillion run at each start)
  -c, --config FILE   the config file pillion run uses (default $PILLION_CONFIG, else
                      ./pillion.yaml if present)
  --state-dir DIR     pillion run's state dir (default as for pillion run)
  -h, --help          print this help

Exits 0 on success, 1 when Pillion cannot be reached, refuses the token or the action fails,
2 for a mistake on the command line.
`;

export const STATUS_HELP = `Usage: pillion status [--json] [flags]

Prints what the running Pillion reports: the app's state, pid, restarts and last exit, its
readiness, the listeners, the certificates' expiry, and CPU, memory and request figures.
  --json              print the /api/v1/status reply as JSON instead

${FINDING}`;

export const RESTART_HELP = `Usage: pillion restart [--no-wait] [--timeout D] [flags]

Restarts the app the way a crash would, with requests held until it is ready again, and
waits for the new process to be ready (up to --timeout, default 30s).
  --no-wait           return once the restart is requested
  --timeout SECONDS   how long to wait for the restarted app (default 30)

${FINDING}`;

export const RELOAD_HELP = `Usage: pillion reload [flags]

Reloads the config file as a change to it or SIGHUP would: the whole new file is checked
first, and when it is rejected the running config stays and the problems are printed.

${FINDING}`;

const COMMON = {
  admin: { type: 'string' },
  'token-file': { type: 'string' },
  config: { type: 'string', short: 'c' },
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Parsed =
  | { flags: AdminFlags; values: Record<string, string | boolean | undefined> }
  | undefined;

function parse(
  args: string[],
  name: string,
  help: string,
  extra: Record<string, { type: 'string' | 'boolean' }>,
): Parsed {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: { ...COMMON, ...extra },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw usageError((err as Error).message, `pillion ${name}`);
  }
  if (values.help) {
    process.stdout.write(help);
    return undefined;
  }
  const s = (k: string): string | undefined => values[k] as string | undefined;
  const flags: AdminFlags = {
    ...(s('admin') !== undefined ? { admin: s('admin') } : {}),
    ...(s('token-file') !== undefined ? { tokenFile: s('token-file') } : {}),
    ...(s('config') !== undefined ? { config: s('config') } : {}),
    ...(s('state-dir') !== undefined ? { stateDir: s('state-dir') } : {}),
  };
  return { flags, values };
}

/** Runs a command's body; a problem reaching Pillion is printed as one line and exits 1. */
async function reporting(name: string, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof PillionError && err.code !== 'PILLION_USAGE') {
      process.stderr.write(`pillion ${name}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** `pillion status [--json]`. */
export function statusCommand(args: string[]): Promise<number> {
  const p = parse(args, 'status', STATUS_HELP, { json: { type: 'boolean' } });
  if (!p) return Promise.resolve(0);
  return reporting('status', async () => {
    const t = findAdmin(p.flags);
    const status = (await adminCall(t, 'GET', '/api/v1/status')) as StatusReply;
    if (p.values.json) {
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return 0;
    }
    // The figures are a bonus: a status without them is still worth printing.
    const stats = await adminCall(t, 'GET', '/api/v1/stats').catch(() => undefined);
    process.stdout.write(formatStatus(status, stats as StatsReply | undefined));
    return 0;
  });
}

/** `pillion restart`: requests a restart and waits for a new, ready app process. */
export function restartCommand(args: string[]): Promise<number> {
  const p = parse(args, 'restart', RESTART_HELP, {
    'no-wait': { type: 'boolean' },
    timeout: { type: 'string' },
  });
  if (!p) return Promise.resolve(0);
  const timeout = Number(p.values.timeout ?? 30);
  if (!(timeout > 0))
    throw usageError('--timeout wants a number of seconds above 0', 'pillion restart');
  return reporting('restart', async () => {
    const t = findAdmin(p.flags);
    const before = (await adminCall(t, 'GET', '/api/v1/status')) as StatusReply;
    await adminAction(t, 'restart');
    if (p.values['no-wait']) {
      process.stdout.write(`restart requested (app pid ${before.app.pid ?? 'none'})\n`);
      return 0;
    }
    const end = Date.now() + timeout * 1000;
    let now = before;
    // Bounded by --timeout: polls until a new process is up and ready.
    while (Date.now() < end) {
      await sleep(200);
      now = (await adminCall(t, 'GET', '/api/v1/status')) as StatusReply;
      const restarted = now.app.pid !== before.app.pid || now.app.restarts > before.app.restarts;
      if (restarted && now.app.pid !== null && now.ready) {
        process.stdout.write(
          `app restarted: pid ${before.app.pid ?? 'none'} -> ${now.app.pid}, ready\n`,
        );
        return 0;
      }
    }
    process.stderr.write(
      `pillion restart: the restart was requested, but after ${timeout}s the app is ${now.app.state} (pid ${now.app.pid ?? 'none'}, ${now.ready ? 'ready' : 'not ready'}); see pillion status and the log\n`,
    );
    return 1;
  });
}

interface ReloadReply {
  applied?: unknown[];
  app_restarted?: unknown[];
  need_restart?: unknown[];
}

/** `pillion reload`: the config file reloaded by the running Pillion; a rejection exits 1. */
export function reloadCommand(args: string[]): Promise<number> {
  const p = parse(args, 'reload', RELOAD_HELP, {});
  if (!p) return Promise.resolve(0);
  return reporting('reload', async () => {
    const reply = (await adminAction(findAdmin(p.flags), 'reload')) as ReloadReply | null;
    const list = (k: keyof ReloadReply): string[] => (reply?.[k] ?? []).map(String);
    const lines = [`config reloaded: ${list('applied').join(', ') || 'nothing changed'}`];
    if (list('app_restarted').length)
      lines.push(`app restarted to apply: ${list('app_restarted').join(', ')}`);
    if (list('need_restart').length)
      lines.push(`apply only at the next start: ${list('need_restart').join(', ')}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  });
}
