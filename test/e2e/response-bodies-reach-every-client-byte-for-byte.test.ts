// Response bodies pass through Pillion without a byte changed, whatever their size, framing
// and pace. Pillion reads the app's responses into one shared buffer and hands body bytes on
// as views of it when the client's TLS write takes them in at once, copying them otherwise
// (a write queued behind one in flight, HTTP/2): fast readers, readers that stall so writes
// queue, and HTTP/2 streams side by side check every byte of every body against its source.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { Agent, get } from 'node:https';
import { test } from 'node:test';
import { bodyBytes, sha256 } from '../fixtures/bytes.ts';
import { APP_CMD, startPillion } from './harness.ts';

const SIZES = [0, 1, 4095, 16_384, 65_535, 65_536, 65_537, 131_079, 1_048_576, 3_000_001];
const STEPS = [65_536, 1000, 300_000];

interface Case {
  path: string;
  n: number;
  seed: number;
}

function cases(client: number): Case[] {
  const all: Case[] = [];
  for (const n of SIZES)
    for (const chunked of [false, true]) {
      const seed = client * 1000 + all.length + 1;
      const write = STEPS[all.length % STEPS.length];
      all.push({
        n,
        seed,
        path: `/bytes?n=${n}&seed=${seed}&write=${write}&chunked=${chunked ? 1 : 0}`,
      });
    }
  return all;
}

/** One GET over the agent; a stalling reader stops for `stallMs` after every 256 KiB. */
function h1Body(port: number, agent: Agent, path: string, stallMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent, rejectUnauthorized: false }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${path}: status ${res.statusCode}`));
      const parts: Buffer[] = [];
      let sinceStall = 0;
      res.on('data', (c: Buffer) => {
        parts.push(c);
        sinceStall += c.length;
        if (stallMs > 0 && sinceStall >= 262_144) {
          sinceStall = 0;
          res.pause();
          setTimeout(() => res.resume(), stallMs);
        }
      });
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
    }).on('error', reject);
  });
}

function check(c: Case, got: Buffer, who: string): void {
  assert.equal(got.length, c.n, `${who} ${c.path}: length`);
  assert.equal(sha256(got), sha256(bodyBytes(c.n, c.seed)), `${who} ${c.path}: bytes`);
}

test('bodies of every size, framing and pace reach h1 and h2 clients byte for byte', async (t) => {
  const p = startPillion(['run', '--listen', '127.0.0.1:0', '--', ...APP_CMD]);
  t.after(() => p.kill());
  const port = await p.port();
  await p.ready();

  const h1 = async (client: number, stallMs: number): Promise<number> => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const c of cases(client))
        check(c, await h1Body(port, agent, c.path, stallMs), `h1 client ${client}`);
    } finally {
      agent.destroy();
    }
    return cases(client).length;
  };
  const h2 = async (client: number): Promise<number> => {
    const session = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    try {
      await Promise.all(
        cases(client).map(
          (c) =>
            new Promise<void>((resolve, reject) => {
              const s = session.request({ ':path': c.path });
              const parts: Buffer[] = [];
              s.on('data', (b: Buffer) => parts.push(b));
              s.on('end', () => {
                try {
                  check(c, Buffer.concat(parts), `h2 client ${client}`);
                  resolve();
                } catch (err) {
                  reject(err);
                }
              });
              s.on('error', reject);
            }),
        ),
      );
    } finally {
      session.close();
    }
    return cases(client).length;
  };

  const done = await Promise.all([h1(1, 0), h1(2, 0), h1(3, 40), h1(4, 40), h2(5), h2(6)]);
  assert.equal(
    done.reduce((a, b) => a + b, 0),
    6 * SIZES.length * 2,
  );
});
