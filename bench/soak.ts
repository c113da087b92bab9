// R1: `npm run soak -- [minutes=30] [rate=2000]`: the soak in bench/lib/soak.ts through the
// real CLI; prints a JSON line per 10 s sample and a summary (errors, RSS fit after 5 minutes
// of warm-up, fds against the baseline, Pillion's event-loop p99 delay). Figures: docs/soak.md.
import { soak } from './lib/soak.ts';

const minutes = Number(process.argv[2] ?? 30);
const rate = Number(process.argv[3] ?? 2000);
const r = await soak({
  durationS: minutes * 60,
  rate,
  sampleS: 10,
  warmupS: Math.min(300, (minutes * 60) / 6),
  log: (l) => console.log(JSON.stringify(l)),
});
const { samples, ...summary } = r;
console.log(JSON.stringify({ summary: { minutes, rate, samples: samples.length, ...summary } }));
