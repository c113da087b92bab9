// The fields a JSON access line can carry, in their order: one list, read by the schema (the
// values `logs.access.fields` admits) and by logs/access-log.ts (what it writes).

/** Every field a JSON access line can carry, in their order. */
export const ACCESS_FIELDS = [
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
  'held_ms',
  'bytes',
  'protocol',
  'remote',
  'request_id',
  'error',
  'service',
  'upstream',
  'attempts',
  'referer',
  'user_agent',
  'headers',
  'worker',
] as const;

export type AccessField = (typeof ACCESS_FIELDS)[number];

/**
 * The fields written when `logs.access.fields` is not set: every field before the request
 * headers' own (referer on), and `worker`, written only by a data-path worker
 * (ingress.workers > 1). `service`, `upstream` and `attempts` are set only on egress lines, so
 * an ingress line leaves them out.
 */
export const DEFAULT_ACCESS_FIELDS: readonly AccessField[] = [
  ...ACCESS_FIELDS.slice(0, ACCESS_FIELDS.indexOf('referer')),
  'worker',
];

/**
 * Characters of a refused request's path that are logged or exported: enough to recognise it,
 * never the whole of what a client sized to be refused (a 414's 9 KB target, a 400's payload).
 */
export const REFUSED_PATH_CHARS = 64;
