// The requests in flight, for the drain's cut and the inflight count. They were a Set, with
// an add and a delete per request; with this array by slot the bytes V8 promoted per 12-byte
// HTTP/1.1 request went ~600 -> ~5 (--trace-gc-nvp, interleaved before/after), and RSS under
// that load and its full GCs with them (docs/install.md, Memory). Each member keeps its slot:
// adding is a push, deleting moves the last member into the hole; the array only grows to the
// most in flight at once.

/** What a LiveSet holds: its slot there, -1 when not in one. */
export interface LiveMember {
  liveSlot: number;
}

export class LiveSet<T extends LiveMember> {
  readonly #members: T[] = [];

  get size(): number {
    return this.#members.length;
  }

  add(m: T): void {
    if (m.liveSlot !== -1) return;
    m.liveSlot = this.#members.length;
    this.#members.push(m);
  }

  delete(m: T): void {
    const slot = m.liveSlot;
    if (slot === -1 || this.#members[slot] !== m) return;
    const last = this.#members.pop() as T;
    if (last !== m) {
      this.#members[slot] = last;
      last.liveSlot = slot;
    }
    m.liveSlot = -1;
  }

  /** The members now, as a copy: a caller may delete while it goes through them. */
  snapshot(): T[] {
    return [...this.#members];
  }
}
