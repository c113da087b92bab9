// The `telemetry` section of pillion.yaml: W3C trace context for the app, and an optional
// OTLP/HTTP export of one span per request (and tunnel) and of the metrics.
import Type from 'typebox';

const ENV_REF = '.*\\$\\{[^}]*\\}.*';
const URL_PATTERN = '^https?://\\S+$';
const DURATION = '^\\d+(\\.\\d+)?(ms|s|m|h)?$';

function pattern(strict: string): { pattern: string; 'x-pattern': string } {
  const body = strict.replace(/^\^/, '').replace(/\$$/, '');
  return { pattern: `^(?:${ENV_REF}|${body})$`, 'x-pattern': strict };
}

export const Telemetry = Type.Object(
  {
    traceparent: Type.Optional(
      Type.Boolean({
        description:
          "W3C trace context: a valid `traceparent` from the client is continued with Pillion's own span, one is started when absent, and the app gets it (with `tracestate`). On by default when `endpoint` is set.",
        'x-default': 'true with `endpoint`, else false',
        'x-live': false,
      }),
    ),
    endpoint: Type.Optional(
      Type.String({
        ...pattern(URL_PATTERN),
        'x-expected': 'an http:// or https:// URL',
        description:
          'OTLP/HTTP collector base URL (e.g. `http://127.0.0.1:4318`): spans go to `/v1/traces`, metrics to `/v1/metrics`. Absent: nothing OpenTelemetry is loaded.',
        'x-live': false,
      }),
    ),
    traces: Type.Optional(
      Type.Boolean({
        description:
          'Export one span per request to `endpoint`: proxied, refused at the edge, and each WebSocket tunnel (docs/monitoring.md).',
        default: true,
        'x-live': false,
      }),
    ),
    metrics_interval: Type.Optional(
      Type.Union([Type.String(pattern(DURATION)), Type.Number({ minimum: 0 })], {
        description: 'Export the metrics to `endpoint` this often; 0: not at all.',
        default: '0s',
        'x-kind': 'duration',
        'x-live': false,
      }),
    ),
    service_name: Type.Optional(
      Type.String({
        minLength: 1,
        description: '`service.name` of the exported resource.',
        default: 'pillion',
        'x-live': false,
      }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Trace context for the app, and OTLP/HTTP export of spans and metrics.',
  },
);
