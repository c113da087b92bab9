// The open-file limit bounds the client connections the ingress can hold. Past it, accept fails
// with EMFILE and libuv closes the waiting connections unseen, so the cap is kept under it.
import { readFileSync } from 'node:fs';

/** Descriptors kept for Pillion itself: the listener, log and config files, the app's pipes. */
const RESERVED_FDS = 64;

/** The soft limit on open files (RLIMIT_NOFILE), or undefined where /proc cannot tell. */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'latin1');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('Max open files'));
  // "Max open files            4096                 4096                 files"; "unlimited" → NaN
  const soft = Number(line?.slice('Max open files'.length).trim().split(/\s+/)[0]);
  return Number.isInteger(soft) && soft > 0 ? soft : undefined;
}

/**
 * The connection cap in force: the configured one, or less when the open-file limit cannot
 * hold it. Each client connection may need one more to the app, so half of what is left after
 * Pillion's own descriptors goes to clients.
 */
export function connectionCap(configured: number, fdLimit: number | undefined): number {
  if (fdLimit === undefined) return configured;
  return Math.max(1, Math.min(configured, Math.floor((fdLimit - RESERVED_FDS) / 2)));
}
