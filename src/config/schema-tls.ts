// The `ingress.tls` section of pillion.yaml: the certificates served and the TLS policy
// (docs/tls.md). Imported by schema.ts; it imports nothing from there, as schema.ts imports it
// before its own constants exist.
import Type from 'typebox';
import { client } from './schema-tls-client.ts';

/** Durations as schema.ts writes them (`10s`, `500ms`, a bare number of seconds, `${VAR}`). */
const DURATION = '^\\d+(\\.\\d+)?(ms|s|m|h)?$';
const ENV_REF = '.*\\$\\{[^}]*\\}.*';

function duration(description: string, def: string, live: boolean) {
  const body = DURATION.replace(/^\^/, '').replace(/\$$/, '');
  return Type.Union(
    [
      Type.String({ pattern: `^(?:${ENV_REF}|${body})$`, 'x-pattern': DURATION }),
      Type.Number({ minimum: 0 }),
    ],
    { description, default: def, 'x-kind': 'duration', 'x-live': live },
  );
}

function path(description: string) {
  return Type.String({ minLength: 1, description, 'x-kind': 'path' });
}

/** Where a private key's passphrase comes from: exactly one of a file or a variable. */
const Passphrase = Type.Object(
  {
    file: Type.Optional(path('Read the passphrase from this file (trailing newline ignored).')),
    env: Type.Optional(
      Type.String({
        pattern: `^(?:${ENV_REF}|[A-Za-z_][A-Za-z0-9_]*)$`,
        'x-pattern': '^[A-Za-z_][A-Za-z0-9_]*$',
        'x-expected': 'an environment variable name such as TLS_KEY_PASSPHRASE',
        description: "Read the passphrase from this variable of Pillion's environment.",
      }),
    ),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    maxProperties: 1,
    description: 'The passphrase of an encrypted key: exactly one of `file` or `env`.',
    'x-live': true,
  },
);

/** One certificate chain and its key, served to the names it lists. */
const Certificate = Type.Object(
  {
    cert: path('PEM certificate, then its intermediates.'),
    key: path('PEM private key of `cert` (PKCS#8, PKCS#1 or SEC1; may be encrypted).'),
    names: Type.Optional(
      Type.Array(
        Type.String({
          pattern: '^(\\*\\.)?[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.?$',
          'x-expected': 'a DNS name such as example.com or *.example.com',
        }),
        {
          minItems: 1,
          description:
            "SNI names this pair is served for (`*.example.com` covers one label). Absent: the certificate's DNS names.",
        },
      ),
    ),
    passphrase: Type.Optional(Passphrase),
  },
  { additionalProperties: false },
);

export const GROUP_NAMES = ['X25519MLKEM768', 'X25519', 'P-256', 'P-384', 'P-521', 'X448'] as const;

/** `ingress.tls`: kept an object, so sections such as client authentication can be added. */
export const TlsSchema = Type.Object(
  {
    cert: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'PEM certificate chain of the default pair (served when no SNI name matches). With `key`.',
        'x-kind': 'path',
        'x-live': true,
      }),
    ),
    key: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'PEM private key of `cert`.',
        'x-kind': 'path',
        'x-live': true,
      }),
    ),
    passphrase: Type.Optional(Passphrase),
    certificates: Type.Optional(
      Type.Array(Certificate, {
        description:
          'More pairs, chosen by SNI; several for one name (RSA and ECDSA) let each client get the one it supports. Without `cert`, the first entry (and those for the same names) is the default.',
        'x-live': true,
      }),
    ),
    profile: Type.Optional(
      Type.Union([Type.Literal('intermediate'), Type.Literal('modern')], {
        description:
          "Mozilla's server-side TLS profile: `intermediate` (TLS 1.2 and 1.3, ECDHE with AEAD only) or `modern` (TLS 1.3 only).",
        default: 'intermediate',
        'x-live': true,
      }),
    ),
    min_version: Type.Optional(
      Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
        description: 'Lowest protocol version accepted.',
        'x-default': 'from `profile`',
        'x-live': true,
      }),
    ),
    ciphers: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'TLS 1.2 cipher list (OpenSSL syntax). TLS 1.3 always offers its three AEAD suites.',
        'x-default': 'from `profile`',
        'x-live': true,
      }),
    ),
    groups: Type.Optional(
      Type.Array(Type.Union(GROUP_NAMES.map((g) => Type.Literal(g))), {
        minItems: 1,
        description:
          'Key exchange groups, in order of preference. No finite-field (ffdhe) group is offered.',
        'x-default': '`X25519MLKEM768,X25519,P-256,P-384`',
        'x-live': true,
      }),
    ),
    handshake_timeout: Type.Optional(
      duration(
        'A connection that has not finished its TLS handshake by then is closed.',
        '10s',
        false,
      ),
    ),
    session_tickets: Type.Optional(
      Type.Boolean({
        description: 'Offer session tickets (RFC 8446 resumption).',
        default: true,
        'x-live': false,
      }),
    ),
    ticket_key_rotation: Type.Optional(
      duration(
        'The session ticket key is replaced this often; older tickets then need a full handshake.',
        '1h',
        false,
      ),
    ),
    client,
  },
  {
    additionalProperties: false,
    description:
      'Certificates and TLS policy (docs/tls.md). No certificate: one issued by the local CA in the state directory (docs/local-ca.md).',
  },
);

/** `ingress.http_redirect`: a plain HTTP listener that only redirects to the HTTPS port. */
export const HttpRedirectSchema = Type.String({
  pattern: `^(?:${ENV_REF}|(\\[[^\\]]+\\]|[^:\\[\\]]*):\\d+)$`,
  'x-pattern': '^(\\[[^\\]]+\\]|[^:\\[\\]]*):\\d+$',
  description:
    'A plain HTTP listener answering every request with a 308 (301 for GET and HEAD) to the same host and path on the HTTPS port, and serving nothing else. Absent: none.',
  'x-kind': 'listen',
  'x-live': false,
});
