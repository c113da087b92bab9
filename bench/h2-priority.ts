// B5's PRIORITY flood, measured on the `pillion` command (bin/pillion.js through its shebang)
// in front of the fixture app. Node raises no event for a PRIORITY frame, so Pillion cannot
// count them; nghttp2 (1.70 in Node 24.21) takes one token of its glitch limiter per frame
// (burst 10,000, refilled 330 a second) and ends the session with GOAWAY ENHANCE_YOUR_CALM
// when they run out. Prints:
// - the most PRIORITY frames one connection sends in one burst and still gets its PING after
//   them answered (a binary search, each try on a fresh connection), against B5's bar of 1,000;
// - Pillion's CPU per PRIORITY frame: N connections each sending 9,000 (under the limit) and a
//   PING, against N that send only the PING (the TLS handshake and the session), interleaved
//   A B A B A B, utime+stime of Pillion's process tree from /proc, medians with spread;
// - Pillion's RSS (VmRSS) before, at its peak during the floods, and after.
// Run: npm run bench:h2-priority -- [connections per round=40]
import { APP_CMD, BIN, rssKib, startPillion } from '../test/e2e/harness.ts';
import { priorityBurst } from '../test/edge/h2-abuse.ts';
import { loadAverage } from './lib/meta.ts';
import { CLK_TCK, treeTicks } from './lib/proc.ts';

const BAR = 1000;
const rounds = 3;
const perRound = Number(process.argv[2] ?? 40);
const FRAMES = 9000;

const loadBefore = loadAverage();
const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], { exe: BIN });
process.on('exit', () => p.kill());
const port = await p.port();
await p.ready();
const pid = p.proc.pid as number;

const burst = (n: number) => priorityBurst(port, n);

// The limit: the most frames still answered, between a count that is and one that is not.
let lo = 0;
let hi = 40_000;
let stopCode: number | undefined;
const first = await burst(hi);
if (first.outcome !== 'goaway') lo = hi;
else {
  stopCode = first.code;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    const r = await burst(mid);
    if (r.outcome === 'answered') lo = mid;
    else hi = mid;
  }
}

// CPU: interleaved rounds of flooding connections and of PING-only ones.
const rssBefore = rssKib(pid);
let peak = rssBefore;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssKib(pid));
}, 50);
const round = async (frames: number): Promise<{ ticks: number; answered: number }> => {
  const t0 = treeTicks(pid);
  let answered = 0;
  // Four at a time, so the machine's other load matters less than the flood.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next++ < perRound) if ((await burst(frames)).outcome === 'answered') answered++;
    }),
  );
  return { ticks: treeTicks(pid) - t0, answered };
};
const perFrameUs: number[] = [];
const perConnUs: number[] = [];
let unanswered = 0;
for (let i = 0; i < rounds; i++) {
  const flood = await round(FRAMES);
  const bare = await round(0);
  unanswered += 2 * perRound - flood.answered - bare.answered;
  const us = (t: number): number => (t * 1e6) / CLK_TCK;
  perFrameUs.push((us(flood.ticks) - us(bare.ticks)) / (perRound * FRAMES));
  perConnUs.push(us(bare.ticks) / perRound);
}
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 2000));
const rssAfter = rssKib(pid);

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const spread = (xs: number[]): string =>
  `${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}`;
const mib = (kb: number): number => Math.round(kb / 102.4) / 10;
console.log(
  JSON.stringify({
    frames_answered_on_one_connection: lo,
    first_refused: hi,
    goaway_code: stopCode,
    cpu_us_per_priority_frame: {
      median: Number(median(perFrameUs).toFixed(3)),
      spread: spread(perFrameUs),
    },
    cpu_us_per_bare_connection: {
      median: Math.round(median(perConnUs)),
      spread: spread(perConnUs),
    },
    frames_per_round: perRound * FRAMES,
    unanswered_connections: unanswered,
    rss_mib: { before: mib(rssBefore), peak: mib(peak), after: mib(rssAfter) },
    load_before: loadBefore,
    load_after: loadAverage(),
  }),
);
console.log(
  `B5 PRIORITY: ${lo} frames answered on one connection before nghttp2's GOAWAY (code ${stopCode}), bar <= ${BAR}: ${lo <= BAR ? 'pass' : 'FAIL'}`,
);
p.proc.kill('SIGTERM');
await p.exited;
