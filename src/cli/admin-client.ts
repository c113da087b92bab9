// How `pillion status`, `restart` and `reload` reach a running Pillion: its admin address and
// token found the way `pillion run` resolves them (flags, then the config file, then the
// defaults and the state dir), and one HTTP request at a time with the token in a header.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ConfigError } from '../config/load.ts';
import { defaultStateDir, resolveConfig } from '../config/resolve.ts';
import { DEFAULT_ADMIN_LISTEN } from '../config/settings.ts';
import { ErrorCode, PillionError } from '../core/errors.ts';

/** One request may take this long: the API answers from memory, a restart is waited for apart. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface AdminFlags {
  admin?: string;
  tokenFile?: string;
  config?: string;
  stateDir?: string;
}

export interface AdminTarget {
  /** `HOST:PORT`, `[::1]:PORT` or `unix:/path`, as given. */
  listen: string;
  /** Present when the admin listener serves HTTPS (admin.tls). */
  ca?: string[];
  token: string;
  tokenFile: string;
  /** Set when the config file is invalid and its admin fields were not read: said with a failure. */
  note?: string;
}

interface AdminTree {
  state_dir?: string;
  admin?: { listen?: string; token_file?: string; tls?: { cert: string; key: string } };
}

/** Finds the admin address and reads the token; throws a PillionError a person can act on. */
export function findAdmin(flags: AdminFlags, env = process.env, cwd = process.cwd()): AdminTarget {
  let tree: AdminTree = {};
  let note: string | undefined;
  // The config is read only for what the flags leave open, so `--admin --token-file` work
  // without a readable config file. An invalid file (mid-edit, or the one a reload is to
  // reject) does not stop the command: the defaults are tried, and a failure says why.
  if (flags.admin === undefined || flags.tokenFile === undefined) {
    try {
      tree = resolveConfig({ ...(flags.config ? { file: flags.config } : {}), env, cwd })
        .tree as AdminTree;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      tree = { state_dir: defaultStateDir(env) };
      note = `the config file is not valid (${err.issues[0]?.text.split('\n')[0]}), so its admin.listen, admin.token_file and state_dir were not used`;
    }
  }
  let listen = flags.admin ?? tree.admin?.listen ?? DEFAULT_ADMIN_LISTEN;
  if (listen === 'off')
    throw withNote(
      new PillionError(
        ErrorCode.ADMIN_UNREACHABLE,
        'the admin listener is off (admin.listen: off), so there is nothing to ask; give --admin ADDR if another Pillion listens elsewhere',
      ),
      note,
    );
  let tls = flags.admin === undefined && tree.admin?.tls !== undefined;
  if (listen.startsWith('https://') || listen.startsWith('http://')) {
    tls = listen.startsWith('https://');
    listen = listen.replace(/^https?:\/\//, '').replace(/\/+$/, '');
  }
  const stateDir = flags.stateDir ?? tree.state_dir;
  const tokenFile =
    flags.tokenFile ?? tree.admin?.token_file ?? join(stateDir ?? '.', 'admin-token');
  let token: string;
  try {
    token = readToken(tokenFile, flags.tokenFile === undefined && !tree.admin?.token_file);
  } catch (err) {
    throw withNote(err as PillionError, note);
  }
  let ca: string[] | undefined;
  if (tls) {
    // The admin certificate may be self-signed: it is trusted as well as the public roots.
    const cert = tree.admin?.tls?.cert;
    ca = [...rootCertificates, ...(cert ? [readFileSync(cert, 'utf8')] : [])];
  }
  return { listen, ...(ca ? { ca } : {}), token, tokenFile, ...(note ? { note } : {}) };
}

/** The error with the note about an unread config file added, when there is one. */
function withNote(err: PillionError, note: string | undefined): PillionError {
  return note ? new PillionError(err.code, `${err.message}\nnote: ${note}`, { cause: err }) : err;
}

function readToken(file: string, generated: boolean): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const hint = generated
      ? 'Pillion writes it there at each start: is pillion run running with this state dir? Give --state-dir DIR or --token-file FILE'
      : 'fix the path (admin.token_file or --token-file)';
    throw new PillionError(
      ErrorCode.ADMIN_TOKEN_UNREADABLE,
      `cannot read the admin token ${file} (${code}); ${hint}`,
      { cause: err },
    );
  }
  const token = text.split('\n')[0].trim();
  if (!token)
    throw new PillionError(
      ErrorCode.ADMIN_TOKEN_UNREADABLE,
      `the admin token file ${file} is empty`,
    );
  return token;
}

export interface AdminReply {
  status: number;
  body: unknown;
}

/** Request options for `listen`: a Unix socket's path, or host and port. */
function target(listen: string): Pick<RequestOptions, 'host' | 'port' | 'socketPath' | 'headers'> {
  if (listen.startsWith('unix:'))
    return { socketPath: listen.slice(5), headers: { host: 'localhost' } };
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  // A wildcard bind is reached on loopback.
  const reach = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { host: reach, port: Number(listen.slice(i + 1)) };
}

/** One request to the admin API; resolves with any HTTP status, rejects only when nothing answered. */
export function adminRequest(
  t: AdminTarget,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string> = {},
): Promise<AdminReply> {
  const base = target(t.listen);
  const opts: RequestOptions = {
    ...base,
    method,
    path,
    headers: {
      ...base.headers,
      authorization: `Bearer ${t.token}`,
      accept: 'application/json',
      ...headers,
    },
    agent: false,
    timeout: REQUEST_TIMEOUT_MS,
  };
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => {
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // not JSON: kept as text for the message
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    };
    const req = t.ca
      ? httpsRequest({ ...opts, ca: t.ca }, onResponse)
      : httpRequest(opts, onResponse);
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        withNote(
          new PillionError(
            ErrorCode.ADMIN_UNREACHABLE,
            `nothing answers on the admin address ${t.listen} (${err.code ?? err.message}): is pillion run running? Give --admin ADDR (or -c FILE) if its admin.listen is elsewhere`,
            { cause: err },
          ),
          t.note,
        ),
      ),
    );
    req.end();
  });
}

/** The API's reply for a 2xx, else a PillionError that says what the status means. */
export async function adminCall(
  t: AdminTarget,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const r = await adminRequest(t, method, path, headers);
  if (r.status >= 200 && r.status < 300) return r.body;
  throw replyError(t, path, r);
}

/** The reason in an error reply: `{error: {code, message}}` (a message may be lines), or text. */
function said(body: unknown): string {
  if (typeof body === 'string') return body.trim().slice(0, 500);
  const e = (body as { error?: unknown } | null)?.error;
  if (typeof e === 'string') return e;
  const m = (e as { message?: unknown } | undefined)?.message;
  if (Array.isArray(m)) return `\n${m.map(String).join('\n')}`;
  return typeof m === 'string' ? m : '';
}

function replyError(t: AdminTarget, path: string, r: AdminReply): PillionError {
  const detail = said(r.body);
  if (r.status === 401)
    return withNote(
      new PillionError(
        ErrorCode.ADMIN_UNAUTHORIZED,
        `the admin API at ${t.listen} refused the token from ${t.tokenFile} (401): a generated token changes at each start; give --token-file with the running Pillion's token, or --state-dir for its state dir`,
      ),
      t.note,
    );
  return new PillionError(
    ErrorCode.ADMIN_REQUEST_FAILED,
    `${path} at ${t.listen} answered ${r.status}${detail ? `: ${detail}` : ''}`,
  );
}

/** POSTs an action with the CSRF value the API hands out. */
export async function adminAction(t: AdminTarget, name: 'restart' | 'reload' | 'drain') {
  const { csrf } = (await adminCall(t, 'GET', '/api/v1/csrf')) as { csrf: string };
  return adminCall(t, 'POST', `/api/v1/${name}`, { 'x-pillion-csrf': csrf });
}
