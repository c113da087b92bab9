// Loaded into Pillion by the soak (NODE_OPTIONS=--import): samples Pillion's own event-loop
// delay and appends one JSON line per interval to $SOAK_ELD_FILE. Only in the process whose
// entry is Pillion's (not the app, which inherits NODE_OPTIONS).
import { appendFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.SOAK_ELD_FILE;
const entry = process.argv[1] ?? '';
if (file && /(bin[\\/]pillion\.js|src[\\/]main\.ts)$/.test(entry)) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  setInterval(
    () => {
      appendFileSync(
        file,
        `${JSON.stringify({ t: Date.now(), p99_ms: h.percentile(99) / 1e6, max_ms: h.max / 1e6 })}\n`,
      );
      h.reset();
    },
    Number(process.env.SOAK_ELD_MS ?? 10_000),
  ).unref();
}
