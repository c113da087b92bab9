// When a failed attempt may be tried again, and after how long: only when it is safe (nothing
// reached the service, or the method is idempotent), within a budget, after a jittered back-off.

/** Idempotent methods (RFC 9110 §9.2.2): sending one twice has the effect of sending it once. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** Budget window: ten one-second slots, so an outage's retries are capped by recent traffic. */
const SLOTS = 10;
const SLOT_MS = 1000;

/**
 * Retries may be at most `ratio` of the requests of the last 10 s, or `min` of them, whichever
 * is more [Finagle's RetryBudget; linkerd2-proxy's retry budget]: an outage is not amplified
 * into `max_retries` times the load.
 */
export class RetryBudget {
  readonly #ratio: number;
  readonly #min: number;
  readonly #requests = new Array<number>(SLOTS).fill(0);
  readonly #retries = new Array<number>(SLOTS).fill(0);
  #slot = 0;
  #slotAt = 0;

  constructor(ratio: number, min: number) {
    this.#ratio = ratio;
    this.#min = min;
  }

  /** Counts one request (not its retries). */
  request(now: number): void {
    this.#advance(now);
    this.#requests[this.#slot] = (this.#requests[this.#slot] as number) + 1;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryRetry(now: number): boolean {
    this.#advance(now);
    const requests = this.#requests.reduce((a, b) => a + b, 0);
    const retries = this.#retries.reduce((a, b) => a + b, 0);
    if (retries >= Math.max(this.#min, this.#ratio * requests)) return false;
    this.#retries[this.#slot] = (this.#retries[this.#slot] as number) + 1;
    return true;
  }

  #advance(now: number): void {
    const slot = Math.floor(now / SLOT_MS);
    if (this.#slotAt === 0) this.#slotAt = slot;
    const steps = Math.min(SLOTS, slot - this.#slotAt);
    for (let i = 0; i < steps; i++) {
      this.#slot = (this.#slot + 1) % SLOTS;
      this.#requests[this.#slot] = 0;
      this.#retries[this.#slot] = 0;
    }
    this.#slotAt = slot;
  }
}

/** Full-jitter exponential back-off before retry `n` (1-based) [AWS Architecture Blog, 2015]. */
export function backoffMs(n: number, baseMs: number, capMs: number): number {
  return Math.random() * Math.min(capMs, baseMs * 2 ** (n - 1));
}

/** A `Retry-After` (RFC 9110 §10.2.3: seconds or an HTTP date) in ms; undefined when absent or bad. */
export function retryAfterMs(
  value: string | string[] | undefined,
  now: number,
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Error codes of a connection that was never made: nothing of the request reached the service. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);

/** Error codes of a connection lost while the request or its answer was on the way. */
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

/** RST_STREAM's REFUSED_STREAM: the stream was not processed (RFC 9113 §8.7). */
const H2_REFUSED_STREAM = 7;

/** What went wrong with one attempt, for the retry decision, the status and the log. */
export type Failure = 'refused' | 'tls' | 'reset' | 'timeout' | 'other';

/** The kind of failure of an upstream error (undici's, or the socket's beneath it). */
export function failureOf(err: unknown): Failure {
  for (
    let e = err as { code?: string; http2ErrorCode?: number; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    const code = e.code ?? '';
    // An HTTP/2 stream reset by the endpoint (RST_STREAM): with REFUSED_STREAM nothing was
    // acted on, any other code may come after the service began the request.
    if (code === 'ERR_HTTP2_STREAM_ERROR')
      return e.http2ErrorCode === H2_REFUSED_STREAM ? 'refused' : 'reset';
    if (NOT_CONNECTED.has(code)) return 'refused';
    if (/CERT|^ERR_TLS_|^ERR_SSL_|^SSL_|SELF_SIGNED|UNABLE_TO_/.test(code)) return 'tls';
    if (RESET.has(code)) {
      // A TLS alert read as a closed socket (a client certificate refused under TLS 1.3).
      const inner = e.cause as { code?: string } | undefined;
      if (inner?.code && /^ERR_SSL_/.test(inner.code)) return 'tls';
      return 'reset';
    }
  }
  return 'other';
}

/** The connection (TCP and TLS handshake) was not made within the `connect` timeout. */
export function isConnectTimeout(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === 'UND_ERR_CONNECT_TIMEOUT';
}

/** The TLS reason of a failed handshake, for the log and the 502 body: `code: message`. */
export function reasonOf(err: unknown): string {
  for (let e = err as { code?: string; message?: string; cause?: unknown } | undefined; e; ) {
    const inner = e.cause as typeof e | undefined;
    if (!inner) return e.code ? `${e.code}: ${e.message}` : String(e.message);
    e = inner;
  }
  return String(err);
}
