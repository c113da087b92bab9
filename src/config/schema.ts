// The one schema of pillion.yaml: the source of the TypeScript types, of the published JSON
// Schema (`pillion schema`), of the validator and of docs/config.md.
import Type, { type Static } from 'typebox';
import { SIZE_PATTERN } from '../core/size.ts';
import { client } from './schema-tls-client.ts';

/** Annotations Pillion reads from the schema besides JSON Schema's own keywords. */
export interface Annotations {
  /** How a string is parsed beyond its JSON type. */
  'x-kind'?: 'duration' | 'size' | 'listen' | 'path';
  /** Applies to a running Pillion on reload, or needs a restart. */
  'x-live'?: boolean;
  /** Needs a restart, but with `app.restart_on_change` a reload applies it by restarting the app. */
  'x-app-restart'?: boolean;
  /** A reserved name whose feature has not landed: present in a file, it is an error. */
  'x-not-yet'?: string;
  /** Default shown in the docs when it is not a plain value (e.g. "detected"). */
  'x-default'?: string;
  /** What a pattern means, for error messages: "a signal name such as SIGTERM". */
  'x-expected'?: string;
  /** What the keys of a map with free names must look like, for error messages. */
  'x-key-expected'?: string;
  /** The pattern checked after environment expansion (`pattern` also admits `${VAR}` for editors). */
  'x-pattern'?: string;
  /** A size's least value, in bytes. */
  'x-min'?: number;
  /** A map whose presence turns a feature on: its defaults are not filled in when it is absent. */
  'x-presence'?: boolean;
}

/** A `${NAME}` or `${NAME:-default}` reference, admitted by the published patterns: it is checked after expansion. */
const ENV_REF = '.*\\$\\{[^}]*\\}.*';

/** A string pattern that editors see admitting an environment reference too; Pillion checks `strict` after expansion. */
function strictly(strict: string): { pattern: string; 'x-pattern': string } {
  const body = strict.replace(/^\^/, '').replace(/\$$/, '');
  return { pattern: `^(?:${ENV_REF}|${body})$`, 'x-pattern': strict };
}

/** `10`, `10s`, `500ms`, `1.5m`, `1h`: a bare number means seconds (as on the command line). */
export const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h)?$';
/** `HOST:PORT`, `[::]:PORT` or `:PORT`. */
export const LISTEN_PATTERN = '^(\\[[^\\]]+\\]|[^:\\[\\]]*):\\d+$';

function duration(description: string, def: string, live: boolean) {
  return Type.Union([Type.String(strictly(DURATION_PATTERN)), Type.Number({ minimum: 0 })], {
    description,
    default: def,
    'x-kind': 'duration',
    'x-live': live,
  });
}

function size(description: string, def: string, live: boolean, min?: number) {
  return Type.Union([Type.String(strictly(SIZE_PATTERN)), Type.Integer({ minimum: 0 })], {
    description,
    default: def,
    'x-kind': 'size',
    'x-live': live,
    ...(min === undefined ? {} : { 'x-min': min }),
  });
}

function count(description: string, def: number, live = false) {
  return Type.Integer({ minimum: 1, description, default: def, 'x-live': live });
}

function listen(description: string, def: string, live: boolean, notYet?: string) {
  return Type.String({
    ...strictly(LISTEN_PATTERN),
    description,
    default: def,
    'x-kind': 'listen',
    'x-live': live,
    ...(notYet ? { 'x-not-yet': notYet } : {}),
  });
}

function choice<const T extends string[]>(
  values: T,
  description: string,
  def: T[number],
  live: boolean,
  appRestart = false,
) {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, default: def, 'x-live': live, ...(appRestart ? { 'x-app-restart': true } : {}) },
  );
}

const SecretRef = Type.Object(
  {
    file: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Read the secret from this file on each request (watched for changes).',
        'x-kind': 'path',
      }),
    ),
    env: Type.Optional(
      Type.String({
        ...strictly('^[A-Za-z_][A-Za-z0-9_]*$'),
        'x-expected': 'an environment variable name such as API_KEY',
        description: "Read the secret from this variable of Pillion's environment.",
      }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description: 'Where one secret comes from: exactly one of `file` or `env`.',
  },
);

/** A health check's kind: one of `http`, `tcp` or `exec`. */
const checkFields = {
  http: Type.Optional(
    Type.String({
      ...strictly('^/\\S*$'),
      'x-expected': 'a path starting with /',
      description: 'GET of this path answers 2xx or 3xx; `/path=204` asks for one status.',
      'x-app-restart': true,
    }),
  ),
  tcp: Type.Optional(
    Type.Boolean({ description: 'The app port accepts a connection.', 'x-app-restart': true }),
  ),
  exec: Type.Optional(
    Type.Array(Type.String(), {
      minItems: 1,
      description:
        'This command (no shell) exits 0; it gets PILLION_APP_HOST and PILLION_APP_PORT.',
      'x-app-restart': true,
    }),
  ),
};

/** An exit status 0-255, optionally `:NEW`. */
const EXIT = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

const App = Type.Object(
  {
    command: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description:
          "The app's command and its arguments, run without a shell. The command after `--` on the command line wins. Absent: attach to an app already listening on `app.port`.",
        'x-live': false,
        'x-app-restart': true,
      }),
    ),
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description: "The app's plain HTTP port. Absent: detected from the app's process tree.",
        'x-default': 'detected',
        'x-live': false,
        'x-app-restart': true,
      }),
    ),
    protocol: Type.Optional(
      choice(
        ['http1', 'h2c'],
        'How Pillion speaks to the app: HTTP/1.1, or cleartext HTTP/2 (`h2c`, prior knowledge) for gRPC and other HTTP/2 apps. See docs/grpc.md.',
        'http1',
        false,
      ),
    ),
    restart: Type.Optional(
      choice(
        ['never', 'on-failure', 'always'],
        'When the app is restarted after it exits.',
        'on-failure',
        false,
        true,
      ),
    ),
    max_restarts: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: "Give up after this many restarts and exit with the app's code.",
        'x-default': 'no limit',
        'x-live': false,
        'x-app-restart': true,
      }),
    ),
    backoff: Type.Optional(
      Type.Object(
        {
          base: Type.Optional(
            duration('Delay before the first restart, doubling each time.', '1s', true),
          ),
          max: Type.Optional(duration("The delay's cap.", '5m', true)),
          reset: Type.Optional(
            duration('An instance that ran this long resets the delay.', '10m', true),
          ),
        },
        { additionalProperties: false, description: 'The delay between restarts.' },
      ),
    ),
    restart_window: Type.Optional(
      duration('How long requests are held while the app restarts, before a 503.', '10s', true),
    ),
    max_start_failures: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          "Exits in a row before the app was ever ready that end Pillion with the app's exit code; 0: restart by policy forever.",
        default: 5,
        'x-live': false,
        'x-app-restart': true,
      }),
    ),
    restart_on_change: Type.Optional(
      Type.Boolean({
        description:
          'On reload, restart the app (requests held, none failed) to apply changed fields marked **restart app**; otherwise they wait for the next start.',
        default: false,
        'x-live': true,
      }),
    ),
    stop_signal: Type.Optional(
      Type.String({
        ...strictly('^SIG[A-Z0-9]+$'),
        'x-expected': 'a signal name such as SIGTERM',
        description: 'The signal that asks the app to stop.',
        'x-default': 'the one Pillion got',
        'x-live': false,
        'x-app-restart': true,
      }),
    ),
    signal_group: Type.Optional(
      Type.Boolean({
        description: "Signals go to the app's whole process group.",
        default: false,
        'x-live': false,
        'x-app-restart': true,
      }),
    ),
    forward_sighup: Type.Optional(
      Type.Boolean({
        description:
          'SIGHUP goes to the app, as before Pillion took it as "reload the config file".',
        default: false,
        'x-live': false,
      }),
    ),
    remap_exit: Type.Optional(
      Type.Array(
        Type.String({
          ...strictly(`^${EXIT}(:${EXIT})?$`),
          'x-expected': 'CODE or CODE:NEW with codes 0-255',
        }),
        {
          description: 'Exit with NEW (default 0) when the app exits with CODE.',
          default: [],
          'x-live': false,
          'x-app-restart': true,
        },
      ),
    ),
    stop_timeout: Type.Optional(
      duration('Grace between the stop signal and SIGKILL.', '10s', true),
    ),
    ready_timeout: Type.Optional(
      duration('How long a request waits for the app to be ready before a 503.', '10s', true),
    ),
    readiness: Type.Optional(
      Type.Object(
        {
          ...checkFields,
          interval: Type.Optional(
            duration('Once ready, check again this often; 0: only at start.', '0s', true),
          ),
        },
        {
          additionalProperties: false,
          description:
            'How the app is known to be ready: one of `http: /path`, `tcp: true` (the default) or `exec: [cmd]`.',
        },
      ),
    ),
    liveness: Type.Optional(
      Type.Object(
        {
          ...checkFields,
          interval: Type.Optional(duration('Time between liveness checks.', '10s', true)),
          failures: Type.Optional(count('Consecutive failures before a restart.', 3, true)),
        },
        {
          additionalProperties: false,
          description:
            'A check (one of `http`, `tcp`, `exec`) that restarts the app after `failures` misses in a row.',
          'x-presence': true,
        },
      ),
    ),
    startup_grace: Type.Optional(
      duration('Liveness failures do not count this long after a start.', '0s', true),
    ),
    probe_timeout: Type.Optional(duration('Timeout of one check.', '1s', true)),
    config: Type.Optional(
      Type.Unknown({
        description: 'Any value: served to the app as JSON at `GET /v1/config` of the config API.',
        'x-live': true,
      }),
    ),
    secrets: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), SecretRef, {
        'x-key-expected': 'a secret name of letters, digits, _ . or -',
        description:
          'Secrets served to the app at `GET /v1/secrets/NAME`, each from a file or an environment variable. Only where they come from is written here, never a value.',
        'x-live': true,
      }),
    ),
    api: Type.Optional(
      Type.Object(
        {
          listen: Type.Optional(
            Type.String({
              ...strictly('^(127\\.0\\.0\\.1:\\d+|\\[::1\\]:\\d+|localhost:\\d+|unix:.+)$'),
              'x-expected': 'a loopback address such as 127.0.0.1:0, or unix:/path/to.sock',
              description:
                'Where the config API listens: a loopback `127.0.0.1:PORT` (0: any free port) or `unix:/path/to.sock`.',
              default: '127.0.0.1:0',
              'x-live': false,
            }),
          ),
        },
        { additionalProperties: false, description: "The app's config and secrets API." },
      ),
    ),
  },
  { additionalProperties: false, description: 'The app Pillion runs and serves.' },
);

const Ingress = Type.Object(
  {
    listen: Type.Optional(listen('Where HTTPS is served.', '0.0.0.0:8443', true)),
    workers: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('auto')], {
        description:
          'Data-path worker processes sharing the listening port; `auto` is one per available core. Above 1 needs Linux and Node >= 22.12 (SO_REUSEPORT), and a reload applies the other `ingress` fields only at the next start (docs/edge.md).',
        default: 1,
        'x-live': false,
        'x-expected': 'a whole number of at least 1, or auto',
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'PEM certificate chain.',
              'x-kind': 'path',
              'x-live': false,
            }),
          ),
          key: Type.Optional(
            Type.String({
              minLength: 1,
              description: 'PEM private key of `cert`.',
              'x-kind': 'path',
              'x-live': false,
            }),
          ),
          client,
        },
        {
          additionalProperties: false,
          description:
            'Certificate and key (both or neither). Without them: a certificate issued by the local CA in the state directory (docs/local-ca.md).',
          'x-presence': true,
        },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          max_header_bytes: Type.Optional(
            size('Request line plus headers; more is answered 431.', '16KiB', true),
          ),
          max_headers: Type.Optional(
            count('Request header fields; more is answered 431.', 100, true),
          ),
          max_uri_bytes: Type.Optional(
            size('Request target; longer is answered 414.', '8KiB', true),
          ),
          max_body_bytes: Type.Optional(
            size('Request body; longer is answered 413.', '100MiB', true),
          ),
          max_connections: Type.Optional(
            count(
              'Open client connections; more are closed at accept. Lowered to fit the open-file limit.',
              10000,
              true,
            ),
          ),
          max_connections_per_source: Type.Optional(
            Type.Integer({
              minimum: 0,
              description:
                'Open client connections from one source address; more are closed at accept. 0: no cap (behind a load balancer or NAT, clients may share one address).',
              default: 0,
              'x-live': true,
            }),
          ),
          max_concurrent_streams: Type.Optional(
            count('HTTP/2 streams per connection, advertised in SETTINGS.', 100, true),
          ),
          headers_timeout: Type.Optional(
            duration('Until the request headers are in; then 408.', '15s', true),
          ),
          body_idle_timeout: Type.Optional(
            duration(
              'The body window: in each, at least `body_min_bytes` must arrive (or the body end); then 408.',
              '30s',
              true,
            ),
          ),
          body_min_bytes: Type.Optional(
            size('Body bytes a client must send in each `body_idle_timeout` window.', '1KiB', true),
          ),
          keep_alive_timeout: Type.Optional(
            duration('An idle keep-alive connection is closed after this.', '5s', true),
          ),
          upstream_timeout: Type.Optional(
            duration('Longest silence from the app; then 504.', '60s', true),
          ),
          tunnel_idle_timeout: Type.Optional(
            duration('An idle WebSocket tunnel is closed after this.', '5m', true),
          ),
          websocket_max_frame_bytes: Type.Optional(
            size(
              'Payload of one WebSocket frame from a client; more closes the tunnel with code 1009.',
              '16MiB',
              true,
            ),
          ),
          websocket_max_message_bytes: Type.Optional(
            size(
              'One WebSocket message from a client, all fragments; more closes the tunnel with code 1009.',
              '16MiB',
              true,
            ),
          ),
          underscore_headers: Type.Optional(
            choice(
              ['drop', 'reject'],
              'Request header names with `_`: dropped, or the request refused with 400.',
              'drop',
              true,
            ),
          ),
        },
        {
          additionalProperties: false,
          description: 'Limits and timeouts of the edge (docs/edge.md).',
        },
      ),
    ),
    forwarded_for: Type.Optional(
      choice(
        ['replace', 'append'],
        "A client's `X-Forwarded-For`: replaced by the peer address, or the peer address appended to it (only behind a proxy of your own that sets it).",
        'replace',
        true,
      ),
    ),
  },
  { additionalProperties: false, description: 'The HTTPS listener in front of the app.' },
);

const Egress = Type.Object(
  {
    listen: Type.Optional(listen('Where the local egress port listens.', '127.0.0.1:14001', false)),
    services: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object({
          endpoints: Type.Array(Type.String()),
          timeout: Type.Optional(duration('Upstream timeout.', '2s', false)),
        }),
      ),
    ),
  },
  {
    description: 'The local egress port to upstream services.',
    'x-not-yet': 'the egress port',
  },
);

const Admin = Type.Object(
  { listen: Type.Optional(listen('Where the admin API listens.', '127.0.0.1:14000', false)) },
  { description: 'The admin API.', 'x-not-yet': 'the admin API' },
);

/** Every field a JSON access line can carry, in their order (logs/access-log.ts writes them). */
export const ACCESS_FIELD_NAMES = [
  'time',
  'level',
  'source',
  'pid',
  'msg',
  'method',
  'path',
  'status',
  'grpc_status',
  'duration_ms',
  'bytes',
  'protocol',
  'remote',
  'request_id',
  'error',
  'referer',
  'user_agent',
  'headers',
  'worker',
] as const;

const Logs = Type.Object(
  {
    format: Type.Optional(
      choice(
        ['json', 'human'],
        'Line format on stdout: JSON lines, or human lines (coloured on a terminal).',
        'json',
        true,
      ),
    ),
    level: Type.Optional(
      choice(
        ['debug', 'info', 'warn', 'error'],
        "The least level of Pillion's own events written; the app's lines and access lines are always written.",
        'info',
        true,
      ),
    ),
    stdout: Type.Optional(
      Type.Boolean({
        description: "Write to Pillion's stdout; false writes to the file (and OTLP) only.",
        default: true,
        'x-live': true,
      }),
    ),
    file: Type.Optional(
      Type.Object(
        {
          path: Type.String({
            minLength: 1,
            description: 'Also write JSON lines to this file.',
            'x-kind': 'path',
            'x-live': true,
          }),
          max_size: Type.Optional(
            size('Rotate before the file passes this size.', '100MiB', true, 1024),
          ),
          keep: Type.Optional(
            Type.Integer({
              minimum: 0,
              description: 'Rotated files kept, PATH.1 to PATH.N.',
              default: 5,
              'x-live': true,
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'A file sink, rotated by size.',
          'x-presence': true,
        },
      ),
    ),
    buffer: Type.Optional(size("Bound of each sink's queue.", '16MiB', true, 64 * 1024)),
    when_full: Type.Optional(
      choice(
        ['block', 'drop'],
        "When a sink's queue is full: `block` back-pressures the app, `drop` drops and counts.",
        'block',
        true,
      ),
    ),
    app: Type.Optional(
      Type.Object(
        {
          long_lines: Type.Optional(
            choice(
              ['split', 'truncate'],
              'An app line longer than `max_line`: split in pieces, or truncated.',
              'split',
              false,
            ),
          ),
          max_line: Type.Optional(size('Longest app line kept whole.', '64KiB', false, 64)),
          multiline: Type.Optional(
            duration(
              'Join continuation lines (leading space or tab) to the line before, waiting at most this long; 0: off.',
              '0s',
              false,
            ),
          ),
          stderr_level: Type.Optional(
            choice(
              ['debug', 'info', 'warn', 'error'],
              "Level of an app stderr line that does not name its own; a line's level prefix or JSON level field wins either way. `error` logs all such stderr as errors.",
              'info',
              false,
            ),
          ),
        },
        { additionalProperties: false, description: "How the app's output becomes log lines." },
      ),
    ),
    access: Type.Optional(
      Type.Object(
        {
          format: Type.Optional(
            choice(['json', 'common', 'combined'], 'Access line format.', 'json', false),
          ),
          fields: Type.Optional(
            Type.Array(Type.Union(ACCESS_FIELD_NAMES.map((f) => Type.Literal(f))), {
              description: 'JSON fields of access lines, in order.',
              // Every field before the request headers' own (referer on), and `worker`, written only
              // by a data-path worker (ingress.workers > 1); ACCESS_LOG_DEFAULTS alike.
              default: [
                ...ACCESS_FIELD_NAMES.slice(0, ACCESS_FIELD_NAMES.indexOf('referer')),
                'worker',
              ],
              'x-live': false,
            }),
          ),
          redact_query: Type.Optional(
            Type.Array(Type.String({ minLength: 1 }), {
              description: 'Query parameters logged as [REDACTED].',
              default: [],
              'x-live': false,
            }),
          ),
        },
        { additionalProperties: false, description: 'The access log: one line per request.' },
      ),
    ),
    otlp: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({
            ...strictly('^https?://\\S+$'),
            'x-expected': 'an http:// or https:// URL',
            description: 'OTLP/HTTP logs endpoint.',
            'x-live': true,
          }),
        },
        {
          additionalProperties: false,
          description: 'Export logs to an OpenTelemetry collector.',
          'x-presence': true,
        },
      ),
    ),
  },
  { additionalProperties: false, description: "Pillion's log output." },
);

const Drain = Type.Object(
  {
    delay: Type.Optional(
      duration(
        'On SIGTERM, keep serving new requests this long (readiness already false) before the listener closes.',
        '0s',
        true,
      ),
    ),
    timeout: Type.Optional(
      duration('How long requests in flight may finish on shutdown.', '10s', true),
    ),
  },
  { additionalProperties: false, description: 'Shutdown: how requests in flight are drained.' },
);

export const ConfigSchema = Type.Object(
  {
    app: Type.Optional(App),
    ingress: Type.Optional(Ingress),
    egress: Type.Optional(Egress),
    admin: Type.Optional(Admin),
    logs: Type.Optional(Logs),
    drain: Type.Optional(Drain),
    state_dir: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Where the generated certificate is kept.',
        'x-default':
          '`$PILLION_STATE_DIR`, else `$XDG_STATE_HOME/pillion`, else `~/.local/state/pillion`',
        'x-kind': 'path',
        'x-live': false,
      }),
    ),
  },
  {
    additionalProperties: false,
    title: 'pillion.yaml',
    description: 'Configuration of Pillion, the sidecar for any application.',
  },
);

/** A validated pillion.yaml, as written (durations still text; defaults not applied). */
export type FileConfig = Static<typeof ConfigSchema>;
export type SecretRef = Static<typeof SecretRef>;

/** The published JSON Schema: what `pillion schema` prints. */
export function jsonSchema(): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://pillion.dev/schema/pillion.yaml.json',
    ...(JSON.parse(JSON.stringify(ConfigSchema)) as Record<string, unknown>),
  };
}

/** A JSON Schema node as TypeBox builds it, with Pillion's annotations. */
export type SchemaNode = Annotations & {
  type?: string;
  default?: unknown;
  description?: string;
  const?: unknown;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  minItems?: number;
  minLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minProperties?: number;
  maxProperties?: number;
};

/** The schema node of a field path such as `ingress.limits.max_header_bytes`. */
export function schemaAt(path: string): SchemaNode | undefined {
  let s: SchemaNode | undefined = ConfigSchema as unknown as SchemaNode;
  for (const key of path.split('.')) s = s?.properties?.[key];
  return s;
}

/** A field's default as the docs and help show it. */
export function shownDefault(s: SchemaNode): string | undefined {
  if (s['x-default'] !== undefined) return s['x-default'];
  if (s.default === undefined) return undefined;
  return Array.isArray(s.default) ? s.default.join(',') || 'none' : String(s.default);
}
