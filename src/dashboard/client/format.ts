// How figures read on the page: short units a person takes in at a glance.
import type { LogLine } from './api-types.ts';

/** 3d 4h, 2h 5m, 4m 10s, 12s. */
export function duration(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** 512 B, 3.4 MiB, 1.2 GiB. */
export function bytes(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** A number with at most three significant figures: 0.42, 12.3, 1250. */
export function num(n: number | null | undefined, unit = ''): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  const a = Math.abs(n);
  const text = Number.isInteger(n)
    ? String(n)
    : a >= 100
      ? Math.round(n).toString()
      : a >= 10
        ? n.toFixed(1)
        : n.toFixed(2);
  return unit ? `${text} ${unit}` : text;
}

/** Milliseconds from seconds: 0.8 ms, 12 ms, 1.25 s. */
export function latency(seconds: number | null | undefined): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  if (seconds >= 1) return `${seconds.toFixed(2)} s`;
  const ms = seconds * 1000;
  return `${ms >= 10 ? Math.round(ms) : ms.toFixed(1)} ms`;
}

/** The log line's time as HH:MM:SS.mmm in local time, or empty. */
export function clock(line: LogLine): string {
  const t = line.time;
  const d = typeof t === 'number' ? new Date(t) : typeof t === 'string' ? new Date(t) : undefined;
  if (!d || Number.isNaN(d.getTime())) return '';
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const SHOWN = new Set(['time', 'level', 'source', 'msg', 'pid', 'hostname', 'v']);
/** An access line's message is already `METHOD PATH STATUS`. */
const SHOWN_ACCESS = new Set([...SHOWN, 'method', 'path', 'status']);

/** The fields of a log line other than its time, level, source and message, as `k=v`. */
export function extraFields(line: LogLine): string {
  const shown = line.source === 'access' ? SHOWN_ACCESS : SHOWN;
  return Object.entries(line)
    .filter(([k]) => !shown.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/** A level's rank for the "at least" filter; an unknown level ranks as info. */
export function levelRank(level: unknown): number {
  const i = LEVELS.indexOf(String(level).toLowerCase() as (typeof LEVELS)[number]);
  return i < 0 ? 2 : i;
}

/** True when the line is at `minLevel` or above and its text holds every word of `query`. */
export function matches(line: LogLine, query: string, minLevel: number): boolean {
  if (levelRank(line.level) < minLevel) return false;
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const text = JSON.stringify(line).toLowerCase();
  return words.every((w) => text.includes(w));
}
