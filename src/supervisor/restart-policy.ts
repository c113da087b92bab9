/** When the app is started again after it exits by itself. */
export const RestartPolicy = {
  never: 'never',
  onFailure: 'on-failure',
  always: 'always',
} as const;
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];

export const RESTART_POLICIES: readonly RestartPolicy[] = Object.values(RestartPolicy);

/** Why an instance of the app is being replaced; logged with each restart. */
/** Why the app was started again; `config`: a reload changed its settings (opt-in). */
export type RestartReason = 'exited' | 'crashed' | 'liveness' | 'requested' | 'config';

/**
 * Whether an app that exited with `status` is started again. `restarts` counts restarts in
 * this run; `maxRestarts` undefined means no limit.
 */
export function shouldRestart(
  policy: RestartPolicy,
  status: number,
  restarts: number,
  maxRestarts: number | undefined,
): boolean {
  if (maxRestarts !== undefined && restarts >= maxRestarts) return false;
  if (policy === 'always') return true;
  if (policy === 'on-failure') return status !== 0;
  return false;
}
