// The `egress` section of pillion.yaml: the local port through which the app reaches other
// services (docs/egress.md). Built from schema.ts's field helpers, passed in so this file
// imports nothing of schema.ts at run time.
import Type from 'typebox';
import type { Kinds } from './schema.ts';

/** A service name: a DNS label, so it can be sent as `Host: <service>` too. */
export const SERVICE_NAME = '^[a-z][a-z0-9-]{0,62}$';
/** `https://host[:port]` or `http://host[:port]`, no path: an endpoint of a service. */
export const ENDPOINT_URL = '^https?://(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+)(:\\d{1,5})?/?$';

/** A forward-proxy allow-list entry: `host`, `*.domain` or `[v6]`, optionally `:port`. */
export const ALLOW_HOST = '^(\\*\\.)?([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?$';

/** The egress section, from schema.ts's helpers for durations, listeners and choices. */
export function egressSection(k: Kinds) {
  const path = (description: string) =>
    Type.String({ minLength: 1, description, 'x-kind': 'path' });
  const Timeout = Type.Union(
    [
      k.duration('The total time for a request, retries included.', '2s', true),
      Type.Object(
        {
          connect: Type.Optional(k.duration('Connecting, TLS handshake included.', '1s', true)),
          per_try: Type.Optional(
            k.duration('One attempt, until the response headers are in.', '2s', true),
          ),
          total: Type.Optional(
            k.duration('The whole request, retries and back-off included.', '2s', true),
          ),
        },
        { additionalProperties: false },
      ),
    ],
    {
      description: 'Upstream timeouts; a duration sets `total` (and `per_try`); past one, 504.',
      default: '2s',
    },
  );
  const Retry = Type.Object(
    {
      max_retries: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 10,
          description: 'Retries after the first attempt; 0 turns retries off.',
          default: 2,
        }),
      ),
      on: Type.Optional(
        Type.Array(Type.Integer({ minimum: 500, maximum: 599 }), {
          description:
            'Statuses an idempotent request is retried on (a reset is always one, and a connection never made).',
          default: [502, 503, 504],
        }),
      ),
      backoff: Type.Optional(
        k.duration('First back-off; doubled each retry, full jitter.', '25ms', true),
      ),
      max_backoff: Type.Optional(
        k.duration('Longest back-off between two attempts.', '250ms', true),
      ),
      max_retry_after: Type.Optional(
        k.duration(
          'A `Retry-After` up to this long is waited for; a longer one is passed to the app.',
          '1s',
          true,
        ),
      ),
      budget: Type.Optional(
        Type.Number({
          minimum: 0,
          maximum: 1,
          description: 'Retries may be at most this share of the requests of the last 10 s…',
          default: 0.2,
        }),
      ),
      min_retries: Type.Optional(
        Type.Integer({ minimum: 0, description: '…or this many, whichever is more.', default: 3 }),
      ),
    },
    { additionalProperties: false, description: 'When a failed attempt is tried again.' },
  );
  const Tls = Type.Object(
    {
      ca: Type.Optional(
        path('PEM CA bundle the endpoints are verified against; absent: the system CAs.'),
      ),
      cert: Type.Optional(path('PEM client certificate, for endpoints that ask for one (mTLS).')),
      key: Type.Optional(path('PEM private key of `cert`.')),
      servername: Type.Optional(
        Type.String({
          minLength: 1,
          description: 'The name sent in SNI and checked in the certificate; absent: the host.',
        }),
      ),
      verify: Type.Optional(
        Type.Boolean({
          description:
            'Verify the endpoint certificate. `false` is unsafe: anyone on the path can read and change the traffic.',
          default: true,
        }),
      ),
    },
    { additionalProperties: false, description: 'TLS to the endpoints (`https://`).' },
  );
  const Outlier = Type.Object(
    {
      consecutive_failures: Type.Optional(
        Type.Integer({
          minimum: 1,
          description: '5xx answers or failed connections in a row that eject an endpoint.',
          default: 5,
        }),
      ),
      ejection_time: Type.Optional(
        k.duration('The first ejection; each next one in a row is longer by as much.', '30s', true),
      ),
      max_ejection_time: Type.Optional(k.duration('The longest ejection.', '5m', true)),
    },
    { additionalProperties: false, description: 'Passive outlier ejection.' },
  );
  const Health = Type.Object(
    {
      path: Type.String({
        pattern: '^/\\S*$',
        'x-expected': 'a path starting with /',
        description: 'GET of this path must answer 2xx.',
      }),
      interval: Type.Optional(k.duration('Between two checks of an endpoint.', '10s', true)),
      timeout: Type.Optional(k.duration('One check.', '1s', true)),
      unhealthy: Type.Optional(
        Type.Integer({
          minimum: 1,
          description: 'Failed checks in a row that take an endpoint out.',
          default: 2,
        }),
      ),
      healthy: Type.Optional(
        Type.Integer({
          minimum: 1,
          description: 'Passed checks in a row that bring it back.',
          default: 1,
        }),
      ),
    },
    {
      additionalProperties: false,
      description: 'Active health checks (absent: none).',
      'x-presence': true,
    },
  );
  const Service = Type.Object(
    {
      endpoints: Type.Array(
        Type.String({
          pattern: ENDPOINT_URL,
          'x-expected': 'a URL such as https://host:443 (no path)',
        }),
        { minItems: 1, description: 'Where the service is: `https://host:port`, one or more.' },
      ),
      timeout: Type.Optional(Timeout),
      retry: Type.Optional(Retry),
      tls: Type.Optional(Tls),
      balance: Type.Optional(
        k.choice(
          ['round_robin', 'least_request'],
          'How requests are spread over the endpoints.',
          'round_robin',
          true,
        ),
      ),
      outlier: Type.Optional(Outlier),
      health: Type.Optional(Health),
      dns_ttl: Type.Optional(
        k.duration('A host name is resolved again for new connections after this.', '30s', true),
      ),
    },
    { additionalProperties: false },
  );
  return Type.Object(
    {
      listen: Type.Optional(
        k.listen(
          'Where the local egress port listens (plain HTTP, for the app).',
          '127.0.0.1:14001',
          false,
        ),
      ),
      services: Type.Optional(
        Type.Record(Type.String({ pattern: SERVICE_NAME }), Service, {
          description:
            'The services the app calls, by name: `http://EGRESS/<name>/path`, or `Host: <name>`.',
          'x-key-expected': 'a lower-case name of letters, digits and -, starting with a letter',
          'x-live': true,
        }),
      ),
      forward_proxy: Type.Optional(
        Type.Object(
          {
            allow: Type.Array(
              Type.String({
                pattern: ALLOW_HOST,
                'x-expected': 'a host name or address, *.domain, with an optional :port',
              }),
              {
                minItems: 1,
                description:
                  'Hosts the app may reach through the proxy: `api.example.com`, `*.example.com`, `10.0.0.7:8080`; without a port, any port.',
                'x-live': true,
              },
            ),
          },
          {
            additionalProperties: false,
            description:
              'Also serve as a forward proxy (absolute-form requests and CONNECT) to these hosts only; the app gets HTTP_PROXY and HTTPS_PROXY.',
            'x-presence': true,
          },
        ),
      ),
    },
    {
      additionalProperties: false,
      description:
        'The local egress port to upstream services; off unless services or a forward proxy are configured.',
    },
  );
}
