// The page's only way to the admin API: the token goes in the Authorization header (never in a
// URL), and each action carries the CSRF value from /api/v1/csrf.
import type { LogLine } from './api-types.ts';
import { SseParser } from './sse.ts';

/** The API refused the token: the page asks for another. */
export class Unauthorized extends Error {}

/** An answer other than 2xx, with the API's own message when it gave one. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function failure(res: Response): Promise<Error> {
  if (res.status === 401) return new Unauthorized('the admin token was refused');
  let message = `${res.status} ${res.statusText}`;
  try {
    // The admin API's errors are {error: {code, message}}; a message may be a list of lines.
    const body = (await res.json()) as { error?: { message?: unknown } };
    const said = body.error?.message;
    if (typeof said === 'string') message = `${res.status}: ${said}`;
    else if (Array.isArray(said)) message = `${res.status}: ${said.join('; ')}`;
  } catch {
    // not JSON: the status line says enough
  }
  return new ApiError(res.status, message);
}

export class AdminApi {
  readonly #token: string;
  #csrf: string | undefined;

  constructor(token: string) {
    this.#token = token;
  }

  #headers(extra: Record<string, string> = {}): Record<string, string> {
    return { authorization: `Bearer ${this.#token}`, ...extra };
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(path, { headers: this.#headers(), cache: 'no-store' });
    if (!res.ok) throw await failure(res);
    return (await res.json()) as T;
  }

  async #csrfValue(fresh: boolean): Promise<string> {
    if (fresh || this.#csrf === undefined)
      this.#csrf = (await this.get<{ csrf: string }>('/api/v1/csrf')).csrf;
    return this.#csrf;
  }

  /** POSTs an action; a 403 (the CSRF value changed, say after a Pillion restart) is retried once with a fresh one. */
  async action(name: 'restart' | 'reload' | 'drain'): Promise<unknown> {
    for (const fresh of [false, true]) {
      const res = await fetch(`/api/v1/${name}`, {
        method: 'POST',
        headers: this.#headers({ 'x-pillion-csrf': await this.#csrfValue(fresh) }),
      });
      if (res.status === 403 && !fresh) continue;
      if (!res.ok) throw await failure(res);
      const text = await res.text();
      try {
        return text ? JSON.parse(text) : {};
      } catch {
        return { message: text };
      }
    }
    throw new ApiError(403, 'the CSRF check failed twice');
  }

  /** Reads the live log tail until `signal` aborts or the stream ends. */
  async streamLogs(onLine: (line: LogLine) => void, signal: AbortSignal): Promise<void> {
    const res = await fetch('/api/v1/logs/stream', {
      headers: this.#headers({ accept: 'text/event-stream' }),
      cache: 'no-store',
      signal,
    });
    if (!res.ok || !res.body) throw await failure(res);
    const parser = new SseParser();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const ev of parser.feed(value)) onLine(parseLine(ev.data));
    }
  }
}

/** A log line from the API: a JSON object, or text kept as the message. */
export function parseLine(data: string): LogLine {
  try {
    const v = JSON.parse(data) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as LogLine;
  } catch {
    // a plain line
  }
  return { msg: data };
}
