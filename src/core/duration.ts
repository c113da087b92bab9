/** The longest delay a Node timer honours (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `10`, `10s`, `500ms`, `1.5m` to milliseconds; a bare number means seconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * UNITS[m[2] ?? 's']);
  // Node timers cannot wait longer than 2^31-1 ms; beyond that they fire at once.
  return ms <= MAX_TIMER_MS ? ms : undefined;
}
