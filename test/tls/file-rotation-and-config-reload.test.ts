// A file-triggered rotation and a config reload of `ingress.tls` share the terminator's queue:
// builds run one at a time, each puts a whole set of pairs in force at once or nothing. The
// config reload's commit comes later, from the reload transaction, outside the queue; files
// rotated between its prepare and its commit are served again right after it.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { Logger, LogOutput } from '../../src/core/log.ts';
import { DEFAULT_TLS, loadTlsMaterial } from '../../src/ingress/tls/material.ts';
import { TlsTerminator } from '../../src/ingress/tls/terminator.ts';
import { eventually, tempDir } from '../e2e/harness.ts';
import { makeCert, secretVolume } from './tls-harness.ts';

test('a rotation between a config reload prepare and its commit is served again after the commit', async (t) => {
  const dir = tempDir();
  const pem = [0, 1].map((i) => {
    const c = makeCert(dir, `gen${i}`, { dns: ['localhost'] });
    return { cert: readFileSync(c.cert, 'utf8'), key: readFileSync(c.key, 'utf8') };
  });
  const fps = pem.map((p) => new X509Certificate(p.cert).fingerprint256);
  const { cert, key, swap } = secretVolume(dir, pem[0]);
  const settings = { ...DEFAULT_TLS, default: { cert, key, field: 'ingress.tls' } };
  const material = await loadTlsMaterial({ stateDir: dir, tls: settings });
  const term = new TlsTerminator({
    material,
    stateDir: dir,
    log: new Logger(new LogOutput(new Writable({ write: (_c, _e, cb) => cb() })), 'ingress'),
    secure: (s) => s.destroy(),
    clientError: () => {},
  });
  term.start();
  t.after(() => term.close());
  const served = (): string => term.certificates()[0]?.fingerprint256 ?? '';
  assert.equal(served(), fps[0]);

  // A config reload reads the files (gen0) and waits for the transaction's commit.
  const prepared = await term.prepare({ ...settings, sessionTickets: false });
  // Meanwhile the files rotate to gen1, and the file watch puts gen1 in force.
  swap(pem[1].cert, pem[1].key);
  await eventually(() => term.stats.reloads === 1, 10_000, 'the file rotation');
  assert.equal(served(), fps[1]);
  // The commit puts the set it prepared (gen0) in force, all at once...
  prepared.commit();
  assert.equal(term.stats.reloads, 2);
  assert.equal(served(), fps[0]);
  assert.equal(term.material.settings.sessionTickets, false);
  // ...and the files, which say gen1, are looked at again: at once (the poll each second
  // would find them too, later).
  await eventually(() => term.stats.reloads === 3, 10_000, 'the files read again');
  assert.equal(served(), fps[1]);
  assert.equal(term.material.settings.sessionTickets, false, 'with the new settings');
  assert.equal(term.stats.reloadFailures, 0);
});
