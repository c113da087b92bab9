// The messages between the primary and its data-path workers, over the fork IPC channel
// (JSON). Everything a worker needs from the supervisor and the logs concern travels here.

/** Where the app accepts connections (the supervisor's Upstream, by shape). */
export interface Address {
  host: string;
  port: number;
}

/** The supervisor's view, as a worker needs it per request. */
export interface ReadyState {
  /** The app's address while it is ready; null while it is not. */
  up: Address | null;
  /** Why the app is not ready, for the 503's text. */
  reason: string | null;
  /** How long a request waits for readiness before a 503 (the restart window once ready). */
  readyTimeoutMs: number;
}

/** What a worker is started with. `ingress` is passed through to the worker's Ingress. */
export interface WorkerInit {
  t: 'init';
  /** 1..N; a replacement keeps the number of the worker it replaces. */
  id: number;
  host: string;
  port: number;
  state: ReadyState;
  ingress: unknown;
}

export type ToWorker =
  | WorkerInit
  | ({ t: 'state' } & ReadyState)
  | { t: 'quiesce'; seq: number; ms: number }
  | { t: 'stats'; seq: number }
  | { t: 'stop' }
  | { t: 'abort' };

/** Counters a worker keeps; the primary sums them over the workers. */
export interface WorkerCounters {
  openConnections: number;
  inflight: number;
  rejections: Record<string, number>;
  /** The worker's request and connection counters for the metrics, passed through as sent. */
  metrics?: unknown;
}

/** The counters summed over the workers, with each worker's metrics payload. */
export interface PoolCounters extends Omit<WorkerCounters, 'metrics'> {
  metrics: unknown[];
}

export type FromWorker =
  | { t: 'listening'; port: number }
  | { t: 'failed'; code: string; message: string }
  | { t: 'quiesced'; seq: number }
  | ({ t: 'stats'; seq: number } & WorkerCounters)
  | { t: 'stopped' };
