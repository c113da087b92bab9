// Loaded into Pillion by bench/crash-loop.ts (NODE_OPTIONS=--expose-gc --import): every
// second, a full GC, then process.memoryUsage() written to $HEAP_PROBE_FILE, so what stays
// live after a collection can be told from what V8 merely has not collected yet. Only in the
// process whose entry is Pillion's (not the app, which inherits NODE_OPTIONS).
import { writeFileSync } from 'node:fs';

const file = process.env.HEAP_PROBE_FILE;
const entry = process.argv[1] ?? '';
if (
  file &&
  typeof globalThis.gc === 'function' &&
  /(bin[\\/]pillion\.js|src[\\/]main\.ts)$/.test(entry)
) {
  setInterval(() => {
    globalThis.gc();
    writeFileSync(file, JSON.stringify(process.memoryUsage()));
  }, 1000).unref();
}
