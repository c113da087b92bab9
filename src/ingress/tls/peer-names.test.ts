import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Pki } from '../../../test/fixtures/client-pki.ts';
import { peerNames } from './peer-names.ts';

test('names are read from the DER by type, and the subject matches openssl -nameopt RFC2253', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pillion-names-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pki = new Pki(dir);
  pki.root('ca', '/CN=Names CA');
  const cases = [
    {
      subj: '/O=Good/OU=a+b/CN=subject, "only"; <x>',
      san: 'DNS:web.good.test, URI:spiffe://good.test/ns/prod/sa/web, email:ops@good.test, IP:127.0.0.1',
    },
    { subj: '/C=DE/O=Gr\u00fcn GmbH/CN=#lead ', san: 'email:web.good.test' },
    { subj: '/CN=no-san', san: undefined },
  ];
  for (const [i, c] of cases.entries()) {
    const leaf = pki.issue(`leaf${i}`, {
      subj: c.subj,
      issuer: 'ca',
      ...(c.san ? { san: c.san } : {}),
    });
    const names = peerNames(new X509Certificate(leaf.cert).raw);
    const want = execFileSync('openssl', [
      'x509',
      '-noout',
      '-subject',
      '-nameopt',
      'RFC2253',
      '-in',
      pki.get(`leaf${i}`).certFile,
    ])
      .toString()
      .trim()
      .replace(/^subject=/, '');
    assert.equal(names.subject, want, c.subj);
    if (i === 0) {
      assert.deepEqual(names.dns, ['web.good.test']);
      assert.deepEqual(names.uri, ['spiffe://good.test/ns/prod/sa/web']);
      assert.deepEqual(names.email, ['ops@good.test']);
    }
    if (i === 1) {
      // An rfc822Name stays an email address whatever it looks like.
      assert.deepEqual(names.dns, []);
      assert.deepEqual(names.email, ['web.good.test']);
    }
    if (i === 2) assert.deepEqual([names.dns, names.uri, names.email], [[], [], []]);
  }
  assert.throws(() => peerNames(Buffer.from([0x30, 0x05, 0x30])));
});
