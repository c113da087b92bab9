// The bench report from run records: which attempt of a run counts, medians and spread, the
// ratios to nginx and the targets marked met or not met.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CASES } from '../../bench/lib/cases.ts';
import type { LoadResult } from '../../bench/lib/load.ts';
import type { RunMeta, RunRecord } from '../../bench/lib/record.ts';
import { writeReport } from '../../bench/lib/report.ts';
import { summarize } from '../../bench/lib/summary.ts';

function load(p99Us: number, requests: number): LoadResult {
  const errors = { connect: 0, read: 0, write: 0, status: 0, timeout: 0 };
  return {
    requests,
    seconds: 1,
    bytes: 0,
    errors,
    p50Us: p99Us / 2,
    p90Us: p99Us,
    p99Us,
    p999Us: p99Us,
    maxUs: p99Us,
  };
}

function run(
  c: string,
  who: string,
  rep: number,
  v: { rps: number; cpu: number; p99: number; rss?: number; attempt?: number; disturbed?: boolean },
): RunRecord {
  return {
    ts: '2026-12-01T00:00:00Z',
    case: c,
    contender: who,
    rep,
    attempt: v.attempt ?? 1,
    placement: { load: '0', proxy: '1', upstream: '0' },
    seconds: 1,
    load: load(v.p99, v.rps),
    rps: v.rps,
    cpuUsPerReq: v.cpu,
    proxyCpuPct: 100,
    disturbed: v.disturbed ?? false,
    rssIdleMiB: (v.rss ?? 40) - 10,
    rssLoadMiB: v.rss ?? 40,
    rssAfterMiB: v.rss ?? 40,
  };
}

const meta: RunMeta = {
  date: '2026-12-01T00:00:00Z',
  machine: 'test',
  versions: {},
  knobs: {},
  loadavgBefore: '0',
  unavailable: { 'pillion-w2': 'not available in this build' },
  descriptions: { nginx: 'nginx', pillion: 'Pillion' },
};

test('a run counts its first undisturbed attempt, and the median of the runs is reported', () => {
  const records = [
    run('h1-small', 'pillion', 1, { rps: 1, cpu: 999, p99: 1, disturbed: true }),
    run('h1-small', 'pillion', 1, { rps: 100, cpu: 10, p99: 1, attempt: 2 }),
    run('h1-small', 'pillion', 2, { rps: 300, cpu: 30, p99: 1 }),
    run('h1-small', 'pillion', 3, { rps: 200, cpu: 20, p99: 1 }),
  ];
  const s = summarize(records, 'h1-small', 'pillion');
  assert.ok(s);
  assert.equal(s.runs.length, 3);
  assert.equal(s.repeated, 1);
  assert.equal(s.rps, 200);
  assert.equal(s.rpsMin, 100);
  assert.equal(s.cpu, 20);
});

test('targets are met or not met against nginx in the same data, and missing ones say why', () => {
  const records = [
    run('h1-small', 'nginx', 1, { rps: 1000, cpu: 20, p99: 1000 }),
    run('h1-small', 'pillion', 1, { rps: 900, cpu: 29, p99: 1400 }),
    run('h1-16k', 'nginx', 1, { rps: 1000, cpu: 40, p99: 1000 }),
    run('h1-16k', 'pillion', 1, { rps: 500, cpu: 60, p99: 2000, rss: 90 }),
  ];
  const md = writeReport(records, meta, CASES, ['nginx', 'pillion']);
  assert.match(
    md,
    /\| 12 B keep-alive: CPU\/req ≤ 1\.5× nginx \| 1\.45× \(29\.0 vs 20\.0 µs\) \| met \|/,
  );
  assert.match(
    md,
    /\| 16 KiB: CPU\/req ≤ 1\.2× nginx \| 1\.50× \(60\.0 vs 40\.0 µs\) \| not met \|/,
  );
  assert.match(md, /\| p99 ≤ 1\.5× nginx in every case \| worst 2\.00× \(h1-16k\) \| not met \|/);
  assert.match(md, /\| RSS under load ≤ 80 MiB \| max 90\.0 MiB \(h1-16k\) \| not met \|/);
  assert.match(md, /gRPC unary[^\n]*bench\/grpc\.ts[^\n]*\| – \|/);
  assert.match(md, /`workers: 2`[^\n]*not available in this build \| – \|/);
});

test('records of another script (gRPC unary) fill in their target and get their own table', () => {
  const records = [
    run('grpc-unary', 'nginx', 1, { rps: 1000, cpu: 50, p99: 1000 }),
    run('grpc-unary', 'pillion', 1, { rps: 800, cpu: 90, p99: 1200 }),
  ].map((r) => ({ ...r, caseTitle: 'gRPC unary calls' }));
  const md = writeReport(records, meta, CASES, ['nginx', 'pillion']);
  assert.match(
    md,
    /\| gRPC unary: CPU\/req ≤ 2× nginx grpc_pass \| 1\.80× \(90\.0 vs 50\.0 µs\) \| met \|/,
  );
  assert.match(md, /### grpc-unary: gRPC unary calls\n/);
});
