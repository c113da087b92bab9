// B5 figures: each HTTP/2 flood from 50 connections at once against the real CLI (`pillion run`
// in front of the fixture app), while a legitimate probe sends one HTTP/1.1 and one HTTP/2
// request at a time over fresh TLS connections. Prints, per flood, the most abusive units one
// connection sent before GOAWAY or close, legitimate success and p99 against the no-attack
// baseline, and Pillion's RSS (VmRSS) peak; then its RSS after a settling wait, where it is
// (C heap, other anonymous memory, files), and pass/fail for B5's two memory bars: back within
// 10% of the baseline after the wait, and a peak at most baseline + 100 MiB.
// Pillion runs as the `pillion` command (bin/pillion.js through its shebang, so with its Node
// flags; `npm run` puts the pinned Node 24 first on PATH).
// The attackers run in a worker thread, so their work does not delay the probe's event loop.
// Run: npm run bench:h2-floods -- [seconds per flood=5]. Env: BENCH_SETTLE_S (default 60) is the
// settling wait; BENCH_RECONNECT=1 has each of the 50 attackers reconnect after every GOAWAY for
// the whole phase (a sustained attack, not one burst); BENCH_ONLY=<part of a name> runs some floods.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { APP_CMD, BIN, rssKib, startPillion } from '../test/e2e/harness.ts';
import {
  dribble,
  FLOODS,
  type FloodResult,
  flood,
  h1Status,
  h2Status,
  MAX_ABUSIVE,
} from '../test/edge/h2-abuse.ts';

const ATTACKERS = 50;
const DRIBBLE = 'zero-window dribble';

interface AttackReport {
  connections: number;
  stopped: number;
  /** Most units one connection sent before it saw GOAWAY or close (the server may lag). */
  maxSent: number;
  /** Most units the server acknowledged processing (streams up to GOAWAY, PING/SETTINGS ACKs). */
  maxProcessed: number;
  goaways: number;
}

if (!isMainThread) {
  // The attacker: ATTACKERS loops, each opening connection after connection until told to stop.
  const { port, name, ms, reconnect } = workerData as {
    port: number;
    name: string;
    ms: number;
    reconnect: boolean;
  };
  const abuse = FLOODS.find((f) => f.name === name);
  const report: AttackReport = {
    connections: 0,
    stopped: 0,
    maxSent: 0,
    maxProcessed: 0,
    goaways: 0,
  };
  const until = Date.now() + ms;
  // Five times the pass bar, so a server that acts late shows it.
  const one = (): Promise<FloodResult> =>
    abuse
      ? flood(port, abuse, 5000, 5 * (abuse.limit ?? MAX_ABUSIVE))
      : dribble(port, '/', 100, 30_000);
  await Promise.all(
    Array.from({ length: ATTACKERS }, async () => {
      // Once per slot, or (BENCH_RECONNECT) again after each GOAWAY, bounded in time.
      do {
        const r = await one().catch(() => undefined);
        if (!r) continue;
        report.connections++;
        if (r.goaway || r.closed) report.stopped++;
        if (r.goaway) report.goaways++;
        report.maxSent = Math.max(report.maxSent, r.sent);
        report.maxProcessed = Math.max(report.maxProcessed, r.processed);
      } while (reconnect && abuse && Date.now() < until);
    }),
  );
  parentPort?.postMessage(report);
} else {
  const seconds = Number(process.argv[2] ?? 5);
  const settleS = Number(process.env.BENCH_SETTLE_S ?? 60);
  const reconnect = process.env.BENCH_RECONNECT === '1';
  const only = process.env.BENCH_ONLY;
  // The `pillion` command as installed: its shebang's Node flags and environment apply.
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD], { exe: BIN });
  process.on('exit', () => p.kill());
  const port = await p.port();
  await p.ready();
  const pid = p.proc.pid as number;
  const rssMiB = (): number => Math.round(rssKib(pid) / 102.4) / 10;
  /**
   * Where the RSS is (/proc/PID/smaps): the C heap's main arena (`[heap]`, the brk heap where
   * nghttp2, OpenSSL and Node's C++ objects live), other anonymous memory (V8's pages, malloc's
   * thread arenas and large blocks, stacks) and mapped files (the node binary, libraries).
   */
  const rssParts = (): { c_heap_mib: number; anon_mib: number; file_mib: number } => {
    const kb = { heap: 0, anon: 0, file: 0 };
    let into: keyof typeof kb = 'anon';
    for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
      const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
      if (head) {
        const name = head[1] ?? '';
        into = name === '[heap]' ? 'heap' : name === '' || name.startsWith('[') ? 'anon' : 'file';
        continue;
      }
      const rss = /^Rss:\s+(\d+) kB/.exec(line);
      if (rss) kb[into] += Number(rss[1]);
    }
    const mib = (n: number): number => Math.round(n / 102.4) / 10;
    return { c_heap_mib: mib(kb.heap), anon_mib: mib(kb.anon), file_mib: mib(kb.file) };
  };
  const p99 = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length * 0.99)] ?? Number.NaN;
  };

  /** Probes (one h1 and one h2 request at a time) until `done` resolves; samples RSS. */
  async function probe(done: Promise<unknown>): Promise<{
    h1: number[];
    h2: number[];
    ok: number;
    all: number;
    rssPeak: number;
  }> {
    const h1: number[] = [];
    const h2: number[] = [];
    let ok = 0;
    let all = 0;
    let rssPeak = rssMiB();
    let over = false;
    void done.then(() => {
      over = true;
    });
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, rssMiB());
    }, 100);
    // Bounded in count too: 2,000 pairs at most.
    for (let i = 0; i < 2000 && !over; i++) {
      const timed = async (f: typeof h1Status, into: number[]): Promise<void> => {
        const t0 = performance.now();
        const status = await f(port, '/', 10_000);
        all++;
        if (status === 200) {
          ok++;
          into.push(performance.now() - t0);
        }
      };
      await Promise.all([timed(h1Status, h1), timed(h2Status, h2)]);
    }
    clearInterval(sampler);
    return { h1, h2, ok, all, rssPeak };
  }

  // Warm-up, then the baseline with no attack.
  await probe(new Promise((r) => setTimeout(r, 1000)));
  const baseRss = rssMiB();
  const base = await probe(new Promise((r) => setTimeout(r, seconds * 1000)));
  const baseH1 = p99(base.h1);
  const baseH2 = p99(base.h2);
  console.log(
    JSON.stringify({
      phase: 'baseline',
      attack: reconnect ? 'sustained (reconnecting)' : 'one burst of 50 connections',
      probes: base.all,
      success: base.ok / base.all,
      h1_p99_ms: Math.round(baseH1 * 10) / 10,
      h2_p99_ms: Math.round(baseH2 * 10) / 10,
      rss_mib: baseRss,
      ...rssParts(),
    }),
  );
  let peak = baseRss;
  const names = [...FLOODS.map((f) => f.name), DRIBBLE].filter((n) => !only || n.includes(only));
  for (const name of names) {
    const before = rssMiB();
    const worker = new Worker(new URL(import.meta.url), {
      workerData: { port, name, ms: seconds * 1000, reconnect },
    });
    const report = new Promise<AttackReport>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    // The probe runs for the whole phase: the attack and at least `seconds`.
    const r = await probe(Promise.all([report, new Promise((w) => setTimeout(w, seconds * 1000))]));
    const a = await report;
    await worker.terminate();
    peak = Math.max(peak, r.rssPeak);
    console.log(
      JSON.stringify({
        phase: name,
        attacker_connections: a.connections,
        stopped: a.stopped,
        goaways: a.goaways,
        max_sent_before_stop: a.maxSent,
        max_processed_before_stop: a.maxProcessed,
        probes: r.all,
        success: r.all ? r.ok / r.all : Number.NaN,
        h1_p99_ratio: Math.round((p99(r.h1) / baseH1) * 100) / 100,
        h2_p99_ratio: Math.round((p99(r.h2) / baseH2) * 100) / 100,
        rss_peak_mib: r.rssPeak,
        rss_before_mib: before,
        rss_peak_over_baseline_mib: Math.round((r.rssPeak - baseRss) * 10) / 10,
      }),
    );
  }
  const afterAttack = rssMiB();
  peak = Math.max(peak, afterAttack);
  const endParts = rssParts();
  await new Promise((r) => setTimeout(r, settleS * 1000));
  const settled = rssMiB();
  const given = p.lines.filter((l) => l.msg === 'memory given back after connection abuse');
  console.log(
    JSON.stringify({
      phase: 'after',
      rss_end_of_attacks_mib: afterAttack,
      end_of_attacks: endParts,
      settle_s: settleS,
      rss_after_mib: settled,
      ...rssParts(),
      rss_after_vs_baseline: Math.round((settled / baseRss) * 100) / 100,
      relief_runs: given.length,
      c_heap_trimmed: given.at(-1)?.c_heap_trimmed ?? null,
      load_average: loadavg().map((x) => Math.round(x * 100) / 100),
    }),
  );
  // B5's memory bars: back to within 10% of the baseline (not above 1.1x; below it passes)
  // `settleS` after the last flood, and the peak over all phases at most baseline + 100 MiB.
  const pass = (ok: boolean): string => (ok ? 'pass' : 'FAIL');
  console.log(
    `B5 memory: ${settleS} s after, ${settled} MiB vs baseline ${baseRss} MiB` +
      ` (${(settled / baseRss).toFixed(2)}x, bar <= 1.10x): ${pass(settled <= baseRss * 1.1)}`,
  );
  console.log(
    `B5 memory: peak ${peak} MiB = baseline + ${Math.round((peak - baseRss) * 10) / 10} MiB` +
      ` (bar <= +100 MiB): ${pass(peak - baseRss <= 100)}`,
  );
  p.proc.kill('SIGTERM');
  await p.exited;
}
