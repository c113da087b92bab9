// mTLS over the terminator's many secure contexts: the default, an SNI name, and a name with
// RSA and ECDSA pairs each verify client certificates against the client CA (not Node's public
// roots), and the verified identity reaches the app whichever context served the handshake.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConnectionOptions } from 'node:tls';
import { tempDir } from '../e2e/harness.ts';
import { Pki } from '../fixtures/client-pki.ts';
import { handshake, makeCert, startTlsEdge } from './tls-harness.ts';

test('every secure context asks for and verifies client certificates against the client CA', async () => {
  const dir = tempDir();
  const pki = new Pki(dir);
  pki.root('rootA', '/O=Good/CN=Root A');
  pki.root('rootX', '/O=Evil/CN=Root X');
  const good = pki.issue('good', {
    subj: '/O=Good/CN=web.good.test',
    issuer: 'rootA',
    san: 'DNS:web.good.test',
  });
  const evil = pki.issue('evil', {
    subj: '/O=Evil/CN=web.good.test',
    issuer: 'rootX',
    san: 'DNS:web.good.test',
  });
  const def = makeCert(dir, 'default', { dns: ['default.test'] });
  const named = makeCert(dir, 'named', { dns: ['named.test'] });
  const rsa = makeCert(dir, 'mixed-rsa', { dns: ['mixed.test'], kind: 'rsa' });
  const ec = makeCert(dir, 'mixed-ec', { dns: ['mixed.test'] });
  const edge = await startTlsEdge({
    default: { cert: def.cert, key: def.key, field: 'ingress.tls' },
    pairs: [
      { cert: named.cert, key: named.key, field: 'ingress.tls.certificates[0]' },
      { cert: rsa.cert, key: rsa.key, field: 'ingress.tls.certificates[1]' },
      { cert: ec.cert, key: ec.key, field: 'ingress.tls.certificates[2]' },
    ],
    client: {
      ca: pki.get('rootA').certFile,
      mode: 'require',
      allow: { dns: [], uri: [], email: [], subject: [] },
      header: 'x-forwarded-client-cert',
    },
  });
  try {
    let sent = 0;
    const served: string[] = [];
    /** The identity the app got, or undefined when the connection got no answer. */
    const identity = async (
      servername: string,
      creds: { cert: string; key: string },
      extra: ConnectionOptions = {},
    ): Promise<string | undefined> => {
      const r = await handshake(edge.port, {
        servername,
        ...creds,
        ...extra,
        ALPNProtocols: ['http/1.1'],
      });
      const socket = r.socket;
      if (!socket) return undefined;
      served.push(socket.getPeerX509Certificate()?.publicKey.asymmetricKeyType ?? '');
      const target = `/who/${++sent}`;
      const answer = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (d: Buffer) => {
          text += d.toString('latin1');
        });
        socket.on('error', () => resolve(text));
        socket.on('close', () => resolve(text));
        socket.write(`GET ${target} HTTP/1.1\r\nhost: ${servername}\r\nconnection: close\r\n\r\n`);
      });
      if (!answer.startsWith('HTTP/1.1 200')) return undefined;
      // Requests are grouped by upstream connection, so each is found by its own target.
      const req = edge.spy.requests.find((q) => q.target === target);
      return req?.headers.find(([n]) => n.toLowerCase() === 'x-forwarded-client-cert')?.[1] ?? '';
    };
    const cases: [string, ConnectionOptions][] = [
      ['default.test', {}],
      ['named.test', {}],
      ['mixed.test', {}],
      // A client that takes only RSA suites gets the RSA pair's own context (client-hello.ts).
      ['mixed.test', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }],
    ];
    for (const [name, extra] of cases) {
      const got = await identity(name, good, extra);
      assert.match(
        got ?? 'no answer',
        /Subject="CN=web.good.test,O=Good";DNS=web.good.test$/,
        name,
      );
      assert.equal(await identity(name, evil, extra), undefined, `${name}: another CA is refused`);
    }
    assert.equal(served.at(-1), 'rsa', 'the RSA context served the last handshake');
    assert.equal(served.at(-3), 'ec');
  } finally {
    await edge.stop();
  }
  const refused = edge.events.filter((e) => e.reason === 'CLIENT_CERT_UNTRUSTED');
  assert.ok(refused.length > 0, 'the refusals are logged with their reason');
});
