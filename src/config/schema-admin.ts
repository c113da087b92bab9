// The `admin` section of pillion.yaml: the admin listener (API, /metrics, health), the plain
// probe listener, and the admin token.
import Type from 'typebox';
import { DEFAULT_ADMIN_LISTEN } from './settings.ts';

/** `HOST:PORT`, `[::1]:PORT` or `unix:/path`; `${VAR}` is expanded before the check. */
const ADMIN_LISTEN = '^(off|\\[[^\\]]+\\]:\\d+|[^:\\[\\]]*:\\d+|unix:/.+)$';
const PROBES_LISTEN = '^(\\[[^\\]]+\\]|[^:\\[\\]]*):\\d+$';
const ENV_REF = '.*\\$\\{[^}]*\\}.*';

function pattern(strict: string): { pattern: string; 'x-pattern': string } {
  const body = strict.replace(/^\^/, '').replace(/\$$/, '');
  return { pattern: `^(?:${ENV_REF}|${body})$`, 'x-pattern': strict };
}

export const Admin = Type.Object(
  {
    listen: Type.Optional(
      Type.String({
        ...pattern(ADMIN_LISTEN),
        'x-expected': 'HOST:PORT such as 127.0.0.1:14000, unix:/path/to.sock, or off',
        description:
          'Where the admin listener (API, `/metrics`, `/healthz`, `/readyz`) binds: `HOST:PORT` or `unix:/path` (made 0600). When the default is taken, Pillion warns and runs without it; a configured address that cannot be bound is a start error. A non-loopback address needs `admin.tls` and `admin.token_file`. `off`: no admin listener (and no metrics, unless `admin.probes` is set).',
        'x-default': DEFAULT_ADMIN_LISTEN,
        'x-kind': 'listen',
        'x-live': false,
      }),
    ),
    probes: Type.Optional(
      Type.String({
        ...pattern(PROBES_LISTEN),
        'x-expected': 'HOST:PORT such as 0.0.0.0:14020',
        description:
          'A plain HTTP listener serving only `/metrics`, `/healthz` and `/readyz`, for the kubelet and Prometheus on the pod IP (e.g. `0.0.0.0:14020`). Off when absent.',
        'x-kind': 'listen',
        'x-live': false,
      }),
    ),
    token_file: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'A file holding the admin token (`Authorization: Bearer TOKEN`). When absent, a token is generated at each start into `<state_dir>/admin-token` (0600).',
        'x-kind': 'path',
        'x-live': false,
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({
            minLength: 1,
            description: 'PEM certificate of the admin listener.',
            'x-kind': 'path',
            'x-live': false,
          }),
          key: Type.String({
            minLength: 1,
            description: 'PEM private key of the admin listener.',
            'x-kind': 'path',
            'x-live': false,
          }),
        },
        {
          additionalProperties: false,
          description: 'Serve the admin listener over HTTPS (needed for a non-loopback address).',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'The admin listener and the probe listener.' },
);
