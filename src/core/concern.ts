/** One part of the sidecar with a lifecycle; the Sidecar starts them in order and stops them in reverse. */
export interface Concern {
  readonly name: string;
  start(): Promise<void>;
  /** Stop within the deadline; when it aborts, give up waiting and close what is left. */
  stop(deadline: AbortSignal): Promise<void>;
}
