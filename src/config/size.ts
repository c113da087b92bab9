const UNITS: Record<string, number> = {
  B: 1,
  KB: 1000,
  KiB: 1024,
  MB: 1000 ** 2,
  MiB: 1024 ** 2,
  GB: 1000 ** 3,
  GiB: 1024 ** 3,
};

/** Parses `512`, `16KiB`, `1.5MB` to a whole number of bytes; a bare number means bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(B|KB|KiB|MB|MiB|GB|GiB)?$/.exec(text.trim());
  if (!m) return undefined;
  const bytes = Math.round(Number(m[1]) * UNITS[m[2] ?? 'B']);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
