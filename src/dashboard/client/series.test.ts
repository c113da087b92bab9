import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Stats } from './api-types.ts';
import { History, rate } from './series.ts';

function sample(
  t: number,
  total: number,
  appCpu: number,
  extra: Partial<Stats['requests']> = {},
): Stats {
  return {
    time_ms: t,
    process: {
      app: { cpu_seconds: appCpu, rss_bytes: 1000 + t, fds: 5, threads: 2, processes: 1 },
      pillion: { cpu_seconds: t / 10_000, rss_bytes: 2000, fds: 9, threads: 7, processes: 1 },
    },
    requests: {
      total,
      by_status_class: { '2xx': total - 2, '5xx': 2 },
      active_connections: 3,
      active_streams: 1,
      latency_seconds: { p50: 0.002, p90: 0.01, p99: 0.05 },
      ...extra,
    },
  };
}

test('rates are differences over the time between samples', () => {
  const h = new History(10);
  h.push(sample(1000, 10, 1));
  h.push(sample(3000, 50, 1.5));
  const c = h.columns();
  assert.deepEqual(c.requests[0], [1, 3]);
  assert.deepEqual(c.requests[1], [null, 20]); // 2xx: (48 - 8) / 2 s
  assert.deepEqual(c.requests[4], [null, 0]); // 5xx stayed at 2
  assert.deepEqual(c.cpu[1], [null, 25]); // 0.5 CPU-seconds in 2 s
  assert.deepEqual(c.latency[3], [50, 50]); // p99 in ms
  assert.equal(h.currentRate(), 20);
});

test('a counter that went down (a restart) leaves a gap, not a negative rate', () => {
  const h = new History(10);
  h.push(sample(1000, 10, 4));
  h.push(sample(2000, 20, 0.1)); // a new app process tree
  assert.equal(h.columns().cpu[1][1], null);
  assert.equal(rate(5, 3, 1), null);
  assert.equal(rate(3, 5, 0), null);
});

test('the history keeps its capacity and ignores a repeated sample', () => {
  const h = new History(3);
  for (let i = 1; i <= 5; i++) h.push(sample(i * 1000, i, 0));
  h.push(sample(5000, 99, 0));
  assert.equal(h.size, 3);
  assert.deepEqual(h.columns().requests[0], [3, 4, 5]);
  assert.equal(h.latest()?.requests.total, 5);
});

test('a stopped app has no figures: its columns hold nulls', () => {
  const h = new History(3);
  const s = sample(1000, 1, 0);
  h.push({ ...s, process: { ...s.process, app: null } });
  const c = h.columns();
  assert.deepEqual(c.memory[1], [null]);
  assert.deepEqual(c.memory[2], [2000]);
});
