// `node bench/metrics-sample.ts`: what a scrape costs Pillion. Times the /proc reads of a
// process tree (this process, then an app tree of 1 and of 11 processes) and a whole /metrics
// render (snapshot + prom-client text), as the median of 500 rounds each, in CPU time.
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metrics } from '../src/metrics/index.ts';
import { readTree } from '../src/metrics/proc.ts';

const ROUNDS = 500;

async function cpuMedian(fn: () => unknown | Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.cpuUsage();
    await fn();
    const t = process.cpuUsage(t0);
    times.push(t.user + t.system);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

function tree(children: number): ChildProcess {
  // A shell with N sleeping children: a small app tree of N+1 processes.
  const script = children === 0 ? 'exec sleep 60' : `${'sleep 60 & '.repeat(children)}wait`;
  return spawn('sh', ['-c', script], { stdio: 'ignore' });
}

const one = tree(0);
const eleven = tree(10);
await sleep(300);
const apps = new Set([one.pid ?? 0, eleven.pid ?? 0]);
const self = await cpuMedian(() => readTree(process.pid, apps));
const app1 = await cpuMedian(() => readTree(one.pid as number));
const app11 = await cpuMedian(() => readTree(eleven.pid as number));
const metrics = new Metrics({ appPid: () => one.pid });
for (let i = 0; i < 1000; i++)
  metrics.record({
    method: 'GET',
    status: 200,
    protocol: 'HTTP/1.1',
    durationMs: i % 50,
    bytes: 10,
  });
await metrics.render(undefined); // the first render imports prom-client
let at = 0;
const render = await cpuMedian(() => {
  // Past the 0.5 s cache, so each render reads /proc again.
  at += 1000;
  metrics.processes(performance.now() + at);
  return metrics.render(undefined);
});
const observe = await cpuMedian(() => {
  for (let i = 0; i < 10_000; i++)
    metrics.record({ method: 'GET', status: 200, protocol: 'HTTP/1.1', durationMs: 3, bytes: 10 });
});
one.kill('SIGKILL');
eleven.kill('SIGKILL');
const ms = (us: number): string => `${(us / 1000).toFixed(3)} ms`;
console.log(`/proc read, this Node process (each of its threads' children files too): ${ms(self)}`);
console.log(`/proc read, app tree of 1 process: ${ms(app1)}`);
console.log(`/proc read, app tree of 11 processes: ${ms(app11)}`);
console.log(`/metrics render (snapshot, /proc of both trees, prom-client text): ${ms(render)}`);
console.log(`record() per request (10,000 in a row): ${(observe / 10_000).toFixed(3)} µs`);
process.exit(0);
