// One deadline per connection, from accept to the end of its TLS handshake: the wait for the
// first byte (plain-http.ts) and the handshake itself (terminator.ts) share it, so a client
// that sends its first byte late and then stalls is closed at accept + handshake_timeout, as
// one that sends nothing is. Node's own handshakeTimeout starts only when TLS takes the
// socket, so on its own it let such a connection stay open up to twice the timeout.

/** The deadline of one connection's handshake: whoever owns the socket now acts on expiry. */
export class HandshakeDeadline {
  readonly #timer: NodeJS.Timeout;
  #onExpiry: () => void;
  #expired: boolean;

  constructor(timeoutMs: number, onExpiry: () => void) {
    this.#onExpiry = onExpiry;
    this.#expired = false;
    this.#timer = setTimeout(() => {
      this.#expired = true;
      this.#onExpiry();
    }, timeoutMs);
    // The socket keeps the process alive while it is open; the timer need not.
    this.#timer.unref();
  }

  /** The next stage takes the socket: what happens at the deadline from now on. */
  handOver(onExpiry: () => void): void {
    this.#onExpiry = onExpiry;
  }

  /** True once the deadline has passed with the handshake unfinished. */
  get expired(): boolean {
    return this.#expired;
  }

  /** The handshake finished, or the socket closed: nothing happens at the deadline. */
  clear(): void {
    clearTimeout(this.#timer);
  }
}
