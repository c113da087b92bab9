import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatus, humanDuration, type StatusReply } from './status-format.ts';

const status: StatusReply = {
  pillion: { version: '0.1.0', node: 'v24.21.0', pid: 10, uptime_s: 3725 },
  app: {
    state: 'backoff',
    pid: null,
    restarts: 2,
    uptime_s: null,
    last_exit: { code: 1, signal: null, reason: 'crashed' },
  },
  ready: false,
  draining: true,
  listen: { https: '0.0.0.0:8443', admin: '127.0.0.1:14000', probes: null },
  certificates: [],
};

test('status reads one line per subject, a stopped app and an absent listener said plainly', () => {
  const text = formatStatus(status);
  assert.match(text, /^pillion {5}0\.1\.0 {2}pid 10 {2}up 1h 2m {2}node v24\.21\.0$/m);
  assert.match(
    text,
    /^app {9}backoff {2}pid - {2}up - {2}restarts 2 {2}last exit code 1 \(crashed\)$/m,
  );
  assert.match(text, /^ready {7}no {2}\(draining\)$/m);
  assert.match(text, /^probes {6}off$/m);
  assert.doesNotMatch(text, /^requests/m, 'no figures without the stats reply');
});

test('the figures come from the stats reply', () => {
  const text = formatStatus(status, {
    process: {
      app: { cpu_seconds: 1.5, rss_bytes: 2 * 1048576, fds: 7, processes: 1 },
      pillion: null,
    },
    requests: {
      total: 12,
      by_status_class: { '2xx': 10, '4xx': 2, '5xx': 0 },
      active_connections: 3,
      active_streams: 0,
      latency_seconds: { p50: 0.002, p90: 0.05, p99: null },
    },
  });
  assert.match(text, /^memory {6}app 2\.0 MiB \(1 process, 7 fds\) {2}pillion -$/m);
  assert.match(text, /^requests {4}12 total {2}2xx 10 {2}4xx 2$/m);
  assert.match(text, /^latency {5}p50 2\.0ms {2}p90 50ms {2}p99 -$/m);
  assert.equal(humanDuration(90061), '1d 1h');
});
