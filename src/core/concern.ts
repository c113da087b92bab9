/** One part of the sidecar with a lifecycle; the Sidecar starts them in order and stops them in reverse. */
export interface Concern<Slice = unknown> {
  readonly name: string;
  start(): Promise<void>;
  /** Stop within the deadline; when it aborts, give up waiting and close what is left. */
  stop(deadline: AbortSignal): Promise<void>;
  /**
   * Phase one of a reload: does everything that can fail (reads files, binds new ports, opens
   * sinks) and changes nothing running. The Sidecar prepares every concern, then commits all
   * or aborts all, so a reload is one transaction.
   */
  prepare?(next: Slice): Promise<Prepared>;
}

/** A reload step made ready by `Concern.prepare`. */
export interface Prepared {
  /** Puts the prepared state in force; cannot fail. */
  commit(): void;
  /** Releases what prepare took (a bound port, an open file); the running state stays. */
  abort(): Promise<void>;
}
