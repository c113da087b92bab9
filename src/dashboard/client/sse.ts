// A Server-Sent Events parser for a fetch() body: EventSource cannot send the Authorization
// header, so the stream is read by hand (WHATWG HTML §9.2.6, the event stream format).

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Feeds text chunks in, gets whole events out; a partial line waits for the next chunk. */
export class SseParser {
  #buffer = '';
  #data: string[] = [];
  #event = '';
  #id: string | undefined;

  feed(chunk: string): SseEvent[] {
    this.#buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buffer);
      // A lone CR at the end may be the first half of CRLF: wait for the next chunk.
      if (!m || (m[0] === '\r' && m.index === this.#buffer.length - 1)) break;
      const line = this.#buffer.slice(0, m.index);
      this.#buffer = this.#buffer.slice(m.index + m[0].length);
      if (line === '') {
        if (this.#data.length > 0) {
          out.push({
            event: this.#event || 'message',
            data: this.#data.join('\n'),
            ...(this.#id !== undefined ? { id: this.#id } : {}),
          });
        }
        this.#data = [];
        this.#event = '';
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') this.#data.push(value);
      else if (field === 'event') this.#event = value;
      else if (field === 'id') this.#id = value;
    }
    return out;
  }
}
