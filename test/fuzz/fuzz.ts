// B9: how each fuzz target runs. In `npm test` a few hundred runs (or a few dozen for targets
// that drive a real ingress) with a fixed seed, so a failure reproduces; under `npm run fuzz`
// (PILLION_FUZZ_SECONDS set) each target runs for that long from a fresh seed, and its figures
// (runs, crashes) are appended to $PILLION_FUZZ_REPORT for docs/fuzzing.md.
import { appendFileSync } from 'node:fs';
import fc from 'fast-check';

const SECONDS = Number(process.env.PILLION_FUZZ_SECONDS ?? 0);
/** The seed of every `npm test` run: a failure there is reproduced by running the file again. */
export const SEED = 20261201;

/**
 * Checks `check` on values of `arb`: `quickRuns` times with SEED, or for PILLION_FUZZ_SECONDS.
 * A check fails by throwing (an assertion, or a crash of the code under test).
 */
export async function fuzz<T>(
  target: string,
  arb: fc.Arbitrary<T>,
  check: (value: T) => void | Promise<void>,
  quickRuns: number,
): Promise<void> {
  let runs = 0;
  const prop = fc.asyncProperty(arb, async (v) => {
    runs++;
    await check(v);
  });
  const long = SECONDS > 0;
  const seed = long ? Date.now() % 2 ** 31 : SEED;
  const started = Date.now();
  let crashes = 0;
  try {
    await fc.assert(
      prop,
      long
        ? {
            seed,
            numRuns: 2 ** 31 - 1,
            interruptAfterTimeLimit: SECONDS * 1000,
            markInterruptAsFailure: false,
          }
        : { seed, numRuns: quickRuns },
    );
  } catch (err) {
    crashes = 1;
    throw err;
  } finally {
    const report = process.env.PILLION_FUZZ_REPORT;
    if (report && long) {
      appendFileSync(
        report,
        `${JSON.stringify({ target, runs, crashes, seconds: Math.round((Date.now() - started) / 1000), seed })}\n`,
      );
    }
  }
}

/** A header field name: an RFC 9110 token. */
export const tokenArb = fc.stringMatching(/^[!#$%&'*+\-.^`|~0-9a-z]{1,20}$/);
/** A field value as the strict parser takes it: visible ASCII and inner spaces, no edge space. */
export const valueArb = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/);
/** An origin-form path and query of safe characters. */
export const pathArb = fc
  .tuple(
    fc.stringMatching(/^(\/[A-Za-z0-9._~-]{0,12}){1,4}$/),
    fc.option(fc.stringMatching(/^[A-Za-z0-9._~=&-]{0,30}$/), { nil: undefined }),
  )
  .map(([p, q]) => (q === undefined ? p : `${p}?${q}`));
