// The requests in flight, for the drain's cut and the inflight count. A Set with an add and a
// delete per request rebuilt its hash table every few hundred operations, and each new table,
// held by the long-lived Set, outlived a scavenge and was promoted (~8% of the bytes a
// 12-byte HTTP/1.1 request promoted). Here each member keeps its slot in one array: adding is
// a push, deleting moves the last member into the hole; the array only grows to the most in
// flight at once.

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
