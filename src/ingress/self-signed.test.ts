import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { localCaFiles, selfSignedPair } from './self-signed.ts';

const DAY = 24 * 3600 * 1000;

test('the generated leaf is kept, renewed 30 days before its end by the same CA, and a torn one replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = localCaFiles(dir);
  const first = await selfSignedPair(dir);
  assert.equal(first.generated, true);
  const ca = new X509Certificate(readFileSync(f.cert));
  const leaf = new X509Certificate(first.cert);
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'issued by the local CA');
  assert.equal(ca.ca, true);
  assert.equal((await selfSignedPair(dir)).generated, false, 'kept');
  // 336 days on, the leaf has under 30 days left: a new one, from the same CA.
  const later = await selfSignedPair(dir, Date.now() + 336 * DAY);
  assert.equal(later.generated, true);
  assert.notEqual(new X509Certificate(later.cert).serialNumber, leaf.serialNumber);
  assert.equal(readFileSync(f.cert, 'utf8'), ca.toString(), 'the CA is the same');
  // A torn leaf file is replaced, never served.
  writeFileSync(f.leaf, later.cert.slice(0, 200));
  const mended = await selfSignedPair(dir);
  assert.equal(mended.generated, true);
  assert.ok(new X509Certificate(mended.cert).verify(ca.publicKey));
  // A CA near its own end is set aside (it may be trusted somewhere) and a new one made.
  const far = await selfSignedPair(dir, Date.now() + 3400 * DAY);
  assert.equal(far.generated, true);
  assert.notEqual(readFileSync(f.cert, 'utf8'), ca.toString());
  assert.ok(readdirSync(f.dir).some((n) => n.startsWith('ca.old-')));
});
