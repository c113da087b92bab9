import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes, duration, extraFields, latency, matches, num } from './format.ts';

test('figures read short', () => {
  assert.equal(duration(59.9), '59s');
  assert.equal(duration(3725), '1h 2m');
  assert.equal(duration(90061), '1d 1h');
  assert.equal(duration(null), '—');
  assert.equal(bytes(512), '512 B');
  assert.equal(bytes(3.5 * 1024 * 1024), '3.5 MiB');
  assert.equal(num(0), '0');
  assert.equal(num(12.34), '12.3');
  assert.equal(num(0.456, '%'), '0.46 %');
  assert.equal(latency(0.0042), '4.2 ms');
  assert.equal(latency(1.5), '1.50 s');
});

test('the log filter needs every word and the lowest level', () => {
  const line = { time: 1, level: 'warn', source: 'app', msg: 'Disk almost full', dev: 'sda' };
  assert.ok(matches(line, 'disk SDA', 0));
  assert.ok(!matches(line, 'disk nvme', 0));
  assert.ok(matches(line, '', 3));
  assert.ok(!matches(line, '', 4));
  assert.equal(extraFields(line), 'dev=sda');
});
