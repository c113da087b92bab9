/**
 * Watches a request body's progress: in each window of `windowMs`, at least `minBytes` must
 * arrive, or the body end. A client that sends nothing is stopped after one window, as by an
 * idle timeout; so is one that sends a few bytes now and then to keep a connection (slow-body
 * attacks), which an idle timeout alone never stops.
 */
export class BodyPace {
  readonly #timer: NodeJS.Timeout;
  #inWindow = 0;

  constructor(windowMs: number, minBytes: number, onStall: () => void) {
    this.#timer = setInterval(() => {
      if (this.#inWindow < minBytes) {
        this.stop();
        onStall();
      }
      this.#inWindow = 0;
    }, windowMs);
  }

  add(bytes: number): void {
    this.#inWindow += bytes;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
