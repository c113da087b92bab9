// `ingress.tls.client`: client certificates (mTLS), checked at the handshake (docs/mtls.md).
import Type from 'typebox';

function names(what: string) {
  return Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description: what,
      default: [],
      'x-live': true,
    }),
  );
}

/** `ingress.tls.client`: the CA bundle, the mode, the allow-lists and the identity header. */
export const client = Type.Optional(
  Type.Object(
    {
      ca: Type.String({
        minLength: 1,
        description:
          'PEM bundle of the CAs that issue client certificates (intermediates may be included). Watched: a changed file is applied like a reload.',
        'x-kind': 'path',
        'x-live': true,
      }),
      mode: Type.Optional(
        Type.Union([Type.Literal('require'), Type.Literal('optional')], {
          description:
            '`require`: a connection without a valid certificate is closed at the handshake. `optional`: one without a certificate is served without identity; an invalid or unlisted certificate is still closed.',
          default: 'require',
          'x-live': true,
        }),
      ),
      allow: Type.Optional(
        Type.Object(
          {
            dns: names(
              'DNS names (subjectAltName dNSName; `*.example.com` matches one label more). Never the CN.',
            ),
            uri: names(
              'URIs (subjectAltName URI), e.g. SPIFFE IDs; an entry ending in `/*` matches every URI under it.',
            ),
            email: names('Email addresses (subjectAltName rfc822Name).'),
            subject: names(
              'Whole subjects in RFC 4514 form, most specific first: `CN=web,O=Example`.',
            ),
          },
          {
            additionalProperties: false,
            description:
              'Which verified certificates are let in: one entry of any list suffices; no list at all lets in every certificate the CA issued.',
          },
        ),
      ),
      header: Type.Optional(
        Type.String({
          pattern: '^[a-z0-9][a-z0-9-]*$',
          'x-expected': 'a lower-case header name such as x-forwarded-client-cert',
          description:
            'The request field that carries the verified identity to the app (`Hash=…;Subject="…";URI=…;DNS=…`, as Envoy\'s XFCC). A client\'s own field of that name is always removed.',
          default: 'x-forwarded-client-cert',
          'x-live': true,
        }),
      ),
    },
    {
      additionalProperties: false,
      description: 'Client certificates (mTLS). Absent: none are asked for.',
      'x-presence': true,
    },
  ),
);
