// A reload of the log sinks, in two phases: prepare opens what the new options need (a new file,
// a new collector) and changes nothing; commit swaps the sinks in and closes the ones left over;
// abort closes what prepare opened. Lines keep flowing through the swap.
import type { Prepared } from '../core/concern.ts';
import type { Logger } from '../core/log.ts';
import type { LogsOptions } from './index.ts';
import type { SinkOutput, SinkSpec } from './output.ts';
import { openSinks } from './sinks.ts';

/** Prepares `next` over the sinks `out` has now; `applied` is told once commit has swapped. */
export async function prepareSinks(
  out: SinkOutput,
  next: LogsOptions,
  log: Logger,
  applied: (o: LogsOptions) => void,
): Promise<Prepared> {
  const before: readonly SinkSpec[] = out.sinks;
  const after = await openSinks(next, out, log, before);
  const kept = new Set(after.map((s) => s.dest));
  const opened = after.filter((s) => !before.some((b) => b.dest === s.dest));
  const dropped = before.filter((s) => !kept.has(s.dest));
  return {
    commit() {
      out.setSinks(after);
      applied(next);
      // What was queued for the old sinks is written out before they close.
      void Promise.all(dropped.map((s) => s.close?.()));
    },
    async abort() {
      await Promise.all(opened.map((s) => s.close?.()));
    },
  };
}
