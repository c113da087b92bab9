/** Bytes per unit: SI for KB/MB/GB, binary for KiB/MiB/GiB and the one-letter K/M/G (as nginx). */
const UNITS: Record<string, number> = {
  B: 1,
  K: 1024,
  KB: 1000,
  KiB: 1024,
  M: 1024 ** 2,
  MB: 1000 ** 2,
  MiB: 1024 ** 2,
  G: 1024 ** 3,
  GB: 1000 ** 3,
  GiB: 1024 ** 3,
};

/** The grammar of a size, as a JSON Schema pattern (the config schema uses it too). */
export const SIZE_PATTERN = '^\\d+(\\.\\d+)?(B|[KMGkmg]|[KMG]i?B)?$';
const SIZE = new RegExp(SIZE_PATTERN.replace('^', '^(').replace('(B|', ')(B|'));

/**
 * Parses `512`, `16KiB`, `1.5MB`, `64K`, `1g` to a whole number of bytes; a bare number means
 * bytes. One grammar for flags and pillion.yaml alike.
 */
export function parseSize(text: string): number | undefined {
  const m = SIZE.exec(text.trim());
  if (!m) return undefined;
  const unit = m[3] ?? 'B';
  const bytes = Math.round(Number(m[1]) * UNITS[unit.length === 1 ? unit.toUpperCase() : unit]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
