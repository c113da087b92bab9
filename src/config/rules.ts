// What the schema cannot say about one field alone: a health check names one kind, back-off's
// cap is not below its base, a stop signal can be caught, and no two listeners share a port.
import { constants } from 'node:os';
import { parseDuration } from '../core/duration.ts';
import type { FileConfig } from './schema.ts';
import type { Issue } from './validate.ts';

type Path = (string | number)[];
type Locate = (path: Path) => { offset: number; flag?: string };

const CHECK_KINDS = ['http', 'tcp', 'exec'] as const;

/** Names the mTLS identity header may not take: framing, hop-by-hop, and what Pillion sets. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'cookie',
  'expect',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
]);

/** Every cross-field problem of a value that passed the schema (defaults filled in), each at its node. */
export function checkRules(c: FileConfig, locate: Locate): Issue[] {
  const issues: Issue[] = [];
  const add = (path: Path, message: string): void => {
    issues.push({ ...locate(path), path: path.join('.'), message });
  };
  const app = c.app ?? {};
  for (const name of ['readiness', 'liveness'] as const) {
    const check = app[name] as Record<string, unknown> | undefined;
    if (!check) continue;
    const kinds = CHECK_KINDS.filter((k) => check[k] !== undefined && check[k] !== false);
    if (kinds.length > 1)
      add(['app', name], `give one of http, tcp or exec, not ${kinds.join(' and ')}`);
    if (name === 'liveness' && kinds.length === 0) {
      const at = locate(['app', name]);
      add(
        ['app', name],
        at.flag ? 'needs --liveness too' : 'give the check: one of http, tcp or exec',
      );
    }
  }
  if (ms(app.backoff?.max) < ms(app.backoff?.base))
    add(['app', 'backoff', 'max'], 'must be at least app.backoff.base');
  const sig = app.stop_signal;
  if (sig !== undefined && (!(sig in constants.signals) || sig === 'SIGKILL' || sig === 'SIGSTOP'))
    add(['app', 'stop_signal'], 'not a signal that can be caught (e.g. SIGTERM, SIGQUIT)');
  const tls = c.ingress?.tls;
  if (tls && (tls.cert === undefined) !== (tls.key === undefined)) {
    const [given, missing] = tls.cert === undefined ? ['key', 'cert'] : ['cert', 'key'];
    const at = locate(['ingress', 'tls', given]);
    issues.push({
      ...at,
      path: `ingress.tls.${missing}`,
      message: at.flag
        ? `needs --${missing} too`
        : `required with ingress.tls.${given}: give both, or neither for a generated certificate`,
    });
  }
  const header = tls?.client?.header;
  if (header !== undefined && RESERVED_HEADERS.has(header))
    add(
      ['ingress', 'tls', 'client', 'header'],
      `${header} is a field Pillion or HTTP itself sets; choose another name`,
    );
  const redirect = portOf(c.ingress?.http_redirect);
  if (redirect !== 0 && redirect === portOf(c.ingress?.listen))
    add(['ingress', 'http_redirect'], `the same port as ingress.listen (${redirect})`);
  // Ports: the HTTPS listener, the app's port and the config API must differ (0 is any free port).
  const listen = portOf(c.ingress?.listen);
  const api = portOf(app.api?.listen);
  if (app.port !== undefined && app.port === listen)
    add(['app', 'port'], `the same port as ingress.listen (${listen}); the app needs its own`);
  if (api !== 0 && api === listen)
    add(['app', 'api', 'listen'], `the same port as ingress.listen (${listen})`);
  if (api !== 0 && api === app.port)
    add(['app', 'api', 'listen'], `the same port as app.port (${api})`);
  const admin = c.admin?.listen;
  // S5: the admin API off loopback is reachable by others; it needs both TLS and a token kept in a file.
  if (admin !== undefined && !isLoopback(admin) && (!c.admin?.tls || !c.admin?.token_file))
    add(
      ['admin', 'listen'],
      'not a loopback address: a non-loopback admin listener needs admin.tls and admin.token_file (or use 127.0.0.1, [::1] or unix:/path)',
    );
  for (const [name, svc] of Object.entries(c.egress?.services ?? {})) {
    const tls = svc.tls ?? {};
    if ((tls.cert === undefined) !== (tls.key === undefined))
      add(
        ['egress', 'services', name, 'tls', tls.cert === undefined ? 'key' : 'cert'],
        'give cert and key together (a client certificate needs its key)',
      );
  }
  const egress = portOf(c.egress?.listen);
  if (c.egress?.services && egress !== 0 && (egress === listen || egress === app.port))
    add(
      ['egress', 'listen'],
      `the same port as ${egress === listen ? 'ingress.listen' : 'app.port'} (${egress})`,
    );
  return issues;
}

/** A loopback `HOST:PORT` or a Unix socket. */
export function isLoopback(listen: string): boolean {
  if (listen === 'off' || listen.startsWith('unix:')) return true;
  const host = listen.slice(0, listen.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The port of `HOST:PORT`, or 0 (any) for a Unix socket. */
function portOf(listen: string | undefined): number {
  if (listen === undefined || listen.startsWith('unix:')) return 0;
  return Number(listen.slice(listen.lastIndexOf(':') + 1));
}

/** A duration (validated already) in ms. */
function ms(v: string | number | undefined): number {
  return parseDuration(String(v ?? 0)) ?? 0;
}
