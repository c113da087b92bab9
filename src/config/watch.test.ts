import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  symlinkSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type LoadedConfig, parseConfig } from './load.ts';
import { ConfigWatcher } from './watch.ts';

const fds = () => readdirSync('/proc/self/fd').length;

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

test('applies valid changes, rejects invalid ones, skips unchanged text, and closes clean', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-watch-'));
  const file = join(dir, 'pillion.yaml');
  writeFileSync(file, 'drain: { timeout: 1s }\n');
  // libuv keeps one inotify descriptor for the process once any watch has been made.
  watch(dir).close();
  const fdsBefore = fds();
  const applied: LoadedConfig[] = [];
  const rejected: string[] = [];
  let failApply = false;
  const w = new ConfigWatcher({
    file,
    apply: async (text) => {
      const loaded = parseConfig(text, file, {});
      if (failApply) throw new Error('concern refused');
      applied.push(loaded);
    },
    applied: () => {},
    rejected: (err) => rejected.push((err as Error).message),
  });
  w.start();

  writeFileSync(file, 'drain: { timeout: 2s }\n');
  await until(() => applied.length === 1, 'first reload');
  assert.deepEqual(applied[0].config, { drain: { timeout: '2s' } });

  writeFileSync(file, 'drain: { timeout: soon }\n');
  await until(() => rejected.length === 1, 'rejection');
  assert.match(rejected[0], /pillion\.yaml:1:19: drain\.timeout: expected a duration/);

  // An atomic rename into place.
  writeFileSync(join(dir, 'tmp'), 'drain: { timeout: 3s }\n');
  renameSync(join(dir, 'tmp'), file);
  await until(() => applied.length === 2, 'reload after rename');

  // The same text again (e.g. a touch): nothing happens.
  writeFileSync(file, 'drain: { timeout: 3s }\n');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(applied.length + rejected.length, 3);

  // A concern that refuses a valid config: counted as rejected, nothing applied.
  failApply = true;
  writeFileSync(file, 'drain: { timeout: 4s }\n');
  await until(() => rejected.length === 2, 'apply failure');
  assert.deepEqual(w.counts, { applied: 2, rejected: 2 });

  // The same text is tried again at the next poll once the concern would take it: a failed
  // apply is not recorded as the text in force.
  failApply = false;
  await until(() => applied.length === 3, 'retry of the unchanged file');
  assert.deepEqual(applied[2].config, { drain: { timeout: '4s' } });
  assert.deepEqual(w.counts, { applied: 3, rejected: 2 });

  w.close();
  await w.settled();
  assert.equal(fds(), fdsBefore, 'no fd left behind');
});

test('follows a ConfigMap-style ..data symlink swap', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-watch-'));
  const gen = (n: number, text: string) => {
    const d = join(dir, `..gen${n}`);
    mkdirSync(d);
    writeFileSync(join(d, 'pillion.yaml'), text);
    symlinkSync(`..gen${n}`, join(dir, '..tmp'));
    renameSync(join(dir, '..tmp'), join(dir, '..data'));
  };
  gen(1, 'state_dir: /a\n');
  symlinkSync('..data/pillion.yaml', join(dir, 'pillion.yaml'));
  const seen: unknown[] = [];
  const w = new ConfigWatcher({
    file: join(dir, 'pillion.yaml'),
    apply: async (text) => {
      seen.push(parseConfig(text, 'pillion.yaml', {}).config.state_dir);
    },
    applied: () => {},
    rejected: () => {},
  });
  w.start();
  gen(2, 'state_dir: /b\n');
  await until(() => seen.length === 1, 'reload after swap');
  // An edit in place behind the symlink is seen too.
  writeFileSync(join(dir, '..gen2', 'pillion.yaml'), 'state_dir: /c\n');
  await until(() => seen.length === 2, 'reload after edit behind the link');
  assert.deepEqual(seen, ['/b', '/c']);
  w.close();
});
