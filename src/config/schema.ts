// The one schema of pillion.yaml: the source of the TypeScript types, of the published JSON
// Schema (`pillion schema`), of the validator and of docs/config.md.
import Type, { type Static } from 'typebox';
import { SIZE_PATTERN } from '../core/size.ts';

/** Annotations Pillion reads from the schema besides JSON Schema's own keywords. */
export interface Annotations {
  /** How a string is parsed beyond its JSON type. */
  'x-kind'?: 'duration' | 'size' | 'listen' | 'path';
  /** Applies to a running Pillion on reload, or needs a restart. */
  'x-live'?: boolean;
  /** A reserved name whose feature has not landed: present in a file, it is an error. */
  'x-not-yet'?: string;
  /** Default shown in the docs when it is not a plain value (e.g. "detected"). */
  'x-default'?: string;
  /** What a pattern means, for error messages: "a signal name such as SIGTERM". */
  'x-expected'?: string;
  /** What the keys of a map with free names must look like, for error messages. */
  'x-key-expected'?: string;
}

/** `10`, `10s`, `500ms`, `1.5m`, `1h`: a bare number means seconds (as on the command line). */
export const DURATION_PATTERN = '^\\d+(\\.\\d+)?(ms|s|m|h)?$';
/** `HOST:PORT`, `[::]:PORT` or `:PORT`. */
export const LISTEN_PATTERN = '^(\\[[^\\]]+\\]|[^:\\[\\]]*):\\d+$';

function duration(description: string, def: string, live: boolean, notYet?: string) {
  return Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Number({ minimum: 0 })], {
    description,
    default: def,
    'x-kind': 'duration',
    'x-live': live,
    ...(notYet ? { 'x-not-yet': notYet } : {}),
  });
}

function size(description: string, def: string, live: boolean) {
  return Type.Union([Type.String({ pattern: SIZE_PATTERN }), Type.Integer({ minimum: 0 })], {
    description,
    default: def,
    'x-kind': 'size',
    'x-live': live,
  });
}

function count(description: string, def: number) {
  return Type.Integer({ minimum: 1, description, default: def, 'x-live': false });
}

function listen(description: string, def: string, notYet?: string) {
  return Type.String({
    pattern: LISTEN_PATTERN,
    description,
    default: def,
    'x-kind': 'listen',
    'x-live': false,
    ...(notYet ? { 'x-not-yet': notYet } : {}),
  });
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
        pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
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

const App = Type.Object(
  {
    command: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description:
          "The app's command and its arguments, run without a shell. The command after `--` on the command line wins. Absent: attach to an app already listening on `app.port`.",
        'x-live': false,
      }),
    ),
    port: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 65535,
        description:
          "The app's plain HTTP port (`--app-port`). Absent: detected from the app's process tree.",
        'x-default': 'detected',
        'x-live': false,
      }),
    ),
    protocol: Type.Optional(
      Type.Union([Type.Literal('http1'), Type.Literal('h2c')], {
        description:
          'How Pillion speaks to the app (`--app-protocol`): HTTP/1.1, or cleartext HTTP/2 (`h2c`, prior knowledge) for gRPC and other HTTP/2 apps. See docs/grpc.md.',
        default: 'http1',
        'x-live': false,
      }),
    ),
    restart: Type.Optional(
      Type.Union([Type.Literal('never'), Type.Literal('on-failure'), Type.Literal('always')], {
        description: 'When the app is restarted after it exits.',
        'x-default': 'on-failure',
        'x-live': false,
      }),
    ),
    restart_on_change: Type.Optional(
      Type.Boolean({
        description:
          'On reload, restart the app (requests held, none failed) to apply changed `app` fields and `drain.delay`; otherwise they wait for the next start.',
        default: false,
        'x-live': true,
      }),
    ),
    stop_signal: Type.Optional(
      Type.String({
        pattern: '^SIG[A-Z0-9]+$',
        'x-expected': 'a signal name such as SIGTERM',
        description: 'The signal that asks the app to stop.',
        'x-default': 'SIGTERM',
        'x-live': false,
      }),
    ),
    stop_timeout: Type.Optional(
      duration('Grace between the stop signal and SIGKILL (`--stop-timeout`).', '10s', false),
    ),
    ready_timeout: Type.Optional(
      duration(
        'How long a request waits for the app to be ready before a 503 (`--ready-timeout`).',
        '10s',
        false,
      ),
    ),
    readiness: Type.Optional(
      Type.Object(
        {
          http: Type.Optional(
            Type.String({
              pattern: '^/',
              'x-expected': 'a path starting with /',
              description:
                'Ready when GET of this path answers 2xx; `/path=204` asks for one status.',
            }),
          ),
          tcp: Type.Optional(
            Type.Boolean({ description: 'Ready when the app port is listening (the default).' }),
          ),
          exec: Type.Optional(
            Type.Array(Type.String(), {
              description:
                'Ready when this command exits 0; it gets PILLION_APP_HOST and PILLION_APP_PORT.',
            }),
          ),
        },
        {
          additionalProperties: false,
          description:
            'How the app is known to be ready: `{ http: /path }`, `{ tcp: true }` or `{ exec: [cmd] }`.',
          'x-default': '{ tcp: true }',
          'x-live': false,
        },
      ),
    ),
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
              pattern: '^(127\\.0\\.0\\.1:\\d+|\\[::1\\]:\\d+|localhost:\\d+|unix:.+)$',
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
    listen: Type.Optional(listen('Where HTTPS is served (`--listen`).', '0.0.0.0:8443')),
    tls: Type.Optional(
      Type.Object(
        {
          cert: Type.String({
            minLength: 1,
            description: 'PEM certificate chain (`--cert`).',
            'x-kind': 'path',
            'x-live': false,
          }),
          key: Type.String({
            minLength: 1,
            description: 'PEM private key of `cert` (`--key`).',
            'x-kind': 'path',
            'x-live': false,
          }),
        },
        {
          additionalProperties: false,
          description: 'Certificate and key. Absent: a generated self-signed pair.',
        },
      ),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          max_header_bytes: Type.Optional(
            size('Request line plus headers; more is answered 431.', '16KiB', false),
          ),
          max_headers: Type.Optional(count('Request header fields; more is answered 431.', 100)),
          max_uri_bytes: Type.Optional(
            size('Request target; longer is answered 414.', '8KiB', false),
          ),
          max_body_bytes: Type.Optional(
            size('Request body; longer is answered 413.', '100MiB', false),
          ),
          max_connections: Type.Optional(
            count(
              'Open client connections; more are closed at accept. Lowered to fit the open-file limit.',
              10000,
            ),
          ),
          max_connections_per_source: Type.Optional(
            Type.Integer({
              minimum: 0,
              description:
                'Open client connections from one source address; more are closed at accept. 0: no cap (behind a load balancer or NAT, clients may share one address).',
              default: 0,
              'x-live': false,
            }),
          ),
          max_concurrent_streams: Type.Optional(
            count('HTTP/2 streams per connection, advertised in SETTINGS.', 100),
          ),
          headers_timeout: Type.Optional(
            duration('Until the request headers are in; then 408.', '15s', false),
          ),
          body_idle_timeout: Type.Optional(
            duration(
              'The body window: in each, at least `body_min_bytes` must arrive (or the body end); then 408.',
              '30s',
              false,
            ),
          ),
          body_min_bytes: Type.Optional(
            size(
              'Body bytes a client must send in each `body_idle_timeout` window.',
              '1KiB',
              false,
            ),
          ),
          keep_alive_timeout: Type.Optional(
            duration('An idle keep-alive connection is closed after this.', '5s', false),
          ),
          upstream_timeout: Type.Optional(
            duration('Longest silence from the app; then 504.', '60s', false),
          ),
          tunnel_idle_timeout: Type.Optional(
            duration('An idle WebSocket tunnel is closed after this.', '5m', false),
          ),
          websocket_max_frame_bytes: Type.Optional(
            size(
              'Payload of one WebSocket frame from a client; more closes the tunnel with code 1009.',
              '16MiB',
              false,
            ),
          ),
          websocket_max_message_bytes: Type.Optional(
            size(
              'One WebSocket message from a client, all fragments; more closes the tunnel with code 1009.',
              '16MiB',
              false,
            ),
          ),
          underscore_headers: Type.Optional(
            Type.Union([Type.Literal('drop'), Type.Literal('reject')], {
              description:
                'Request header names with `_`: dropped, or the request refused with 400.',
              default: 'drop',
              'x-live': false,
            }),
          ),
        },
        {
          additionalProperties: false,
          description: 'Limits and timeouts of the edge (docs/edge.md).',
        },
      ),
    ),
    forwarded_for: Type.Optional(
      Type.Union([Type.Literal('replace'), Type.Literal('append')], {
        description:
          "A client's `X-Forwarded-For`: replaced by the peer address, or the peer address appended to it (only behind a proxy of your own that sets it).",
        default: 'replace',
        'x-live': false,
      }),
    ),
  },
  { additionalProperties: false, description: 'The HTTPS listener in front of the app.' },
);

const Egress = Type.Object(
  {
    listen: Type.Optional(listen('Where the local egress port listens.', '127.0.0.1:14001')),
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
  { listen: Type.Optional(listen('Where the admin API listens.', '127.0.0.1:14000')) },
  { description: 'The admin API.', 'x-not-yet': 'the admin API' },
);

const Logs = Type.Object(
  {
    format: Type.Optional(
      Type.Union([Type.Literal('json'), Type.Literal('human')], {
        description:
          'Line format on stdout (`--log-format`): JSON lines, or human lines (coloured on a terminal).',
        default: 'json',
        'x-live': false,
      }),
    ),
    file: Type.Optional(
      Type.Object(
        {
          path: Type.String({
            description: 'Also write JSON lines to this file (`--log-file`).',
            'x-kind': 'path',
          }),
          max_size: Type.Optional(
            size(
              'Rotate before the file passes this size (`--log-file-max-size`).',
              '100MiB',
              false,
            ),
          ),
          keep: Type.Optional(
            Type.Integer({
              minimum: 0,
              description: 'Rotated files kept, PATH.1 to PATH.N (`--log-file-keep`).',
              default: 5,
              'x-live': false,
            }),
          ),
        },
        { additionalProperties: false, description: 'A file sink, rotated by size.' },
      ),
    ),
    buffer: Type.Optional(size("Bound of each sink's queue (`--log-buffer`).", '16MiB', false)),
    when_full: Type.Optional(
      Type.Union([Type.Literal('block'), Type.Literal('drop')], {
        description:
          "When a sink's queue is full (`--log-when-full`): `block` back-pressures the app, `drop` drops and counts.",
        default: 'block',
        'x-live': false,
      }),
    ),
    otlp: Type.Optional(
      Type.Object(
        {
          endpoint: Type.String({
            pattern: '^https?://',
            'x-expected': 'an http:// or https:// URL',
            description: 'OTLP/HTTP logs endpoint (`--log-otlp-endpoint`).',
          }),
        },
        { additionalProperties: false, description: 'Export logs to an OpenTelemetry collector.' },
      ),
    ),
  },
  { additionalProperties: false, description: "Pillion's log output." },
);

const Drain = Type.Object(
  {
    delay: Type.Optional(
      duration('Wait before the listener stops accepting on shutdown.', '0s', false),
    ),
    timeout: Type.Optional(
      duration(
        'How long requests in flight may finish on shutdown (`--drain-timeout`).',
        '10s',
        true,
      ),
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
        description:
          'Where the generated certificate is kept (`--state-dir`). Absent: `$PILLION_STATE_DIR`, else `$XDG_STATE_HOME/pillion`, else `~/.local/state/pillion`.',
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
