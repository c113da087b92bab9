// B6: h2spec's 146 conformance cases, rebuilt as data (h2spec-cases.ts), each run end to end
// against the real ingress over TLS with ALPN h2, on its own connection. A case passes as h2spec
// would pass it; a case on the allow-list must show exactly the behaviour recorded there.
import assert from 'node:assert/strict';
import { connect as h2connect } from 'node:http2';
import { after, before, describe, it, test } from 'node:test';
import { type Edge, startEdge } from './edge-harness.ts';
import { Flag, type Frame, FrameType, frame, H2Raw, settings, statusOf } from './h2-crafter.ts';
import { Err, type Expect, H2SPEC_CASES, type H2specCase, type Wait } from './h2spec-cases.ts';

/** How long a case waits for its verdict. */
const WAIT_MS = 5000;
/** Cases running at once, each on its own connection. */
const CONCURRENCY = 16;

let edge: Edge;
before(async () => {
  // An idle session is closed after keepAliveTimeoutMs; here that is far beyond a case's wait,
  // so a close a case sees is the answer to what it sent.
  edge = await startEdge({ keepAliveTimeoutMs: 60_000 });
  // Every request gets a non-empty body; the flow-control cases need at least 5 octets of it.
  edge.spy.respond = (req) =>
    `HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n${req.method === 'HEAD' ? '' : 'h2spec conformance\n'}`;
});
after(() => edge.stop());

type Verdict = 'pass' | 'fail' | 'pending';

const ERR_NAMES = Object.fromEntries(Object.entries(Err).map(([k, v]) => [v, k]));
const errName = (code: number): string => ERR_NAMES[code] ?? `0x${code.toString(16)}`;
const TYPE_NAMES = Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k]));

/** Decides `e` on the frames read so far (in order) and whether the connection is closed. */
function judge(e: Expect, frames: Frame[], closed: boolean): Verdict {
  const code = (f: Frame, at: number): number => f.payload.readUInt32BE(at);
  switch (e.kind) {
    case 'connectionError':
      if (frames.some((f) => f.type === FrameType.GOAWAY && e.codes.includes(code(f, 4))))
        return 'pass';
      return closed ? 'pass' : 'pending';
    case 'streamError':
      if (
        frames.some(
          (f) =>
            (f.type === FrameType.GOAWAY && e.codes.includes(code(f, 4))) ||
            (f.type === FrameType.RST_STREAM && e.codes.includes(code(f, 0))),
        )
      )
        return 'pass';
      return closed ? 'pass' : 'pending';
    case 'close':
      return closed ? 'pass' : 'pending';
    case 'response': {
      const h = frames.find((f) => f.type === FrameType.HEADERS);
      if (!h) return closed ? 'fail' : 'pending';
      if (h.stream !== e.stream) return 'fail';
      return e.status === undefined || statusOf(h.payload) === e.status ? 'pass' : 'fail';
    }
    case 'frame':
      if (frames.some((f) => f.type === e.type)) return 'pass';
      return closed ? 'fail' : 'pending';
    case 'pingAck':
      for (const f of frames.filter((x) => x.type === FrameType.PING)) {
        if (e.notFirst?.equals(f.payload)) return 'fail';
        if (f.flags & Flag.ACK && f.payload.equals(e.data)) return 'pass';
        if (!e.any) return 'fail';
      }
      return closed ? (e.orClose ? 'pass' : 'fail') : 'pending';
    case 'settings': {
      const s = e.first ? frames[0] : frames.find((f) => f.type === FrameType.SETTINGS);
      if (!s) return closed ? 'fail' : 'pending';
      return s.type === FrameType.SETTINGS && Boolean(s.flags & Flag.ACK) === e.ack
        ? 'pass'
        : 'fail';
    }
    case 'dataLength': {
      const d = frames.find((f) => f.type === FrameType.DATA);
      if (!d) return closed ? 'fail' : 'pending';
      return d.payload.length === e.length ? 'pass' : 'fail';
    }
    case 'goaway': {
      const g = frames.find((f) => f.type === FrameType.GOAWAY);
      if (!g) return closed ? 'fail' : 'pending';
      return code(g, 4) === e.code ? 'pass' : 'fail';
    }
    case 'reset': {
      const r = frames.find((f) => f.type === FrameType.RST_STREAM);
      if (!r) return closed ? 'fail' : 'pending';
      return r.stream === e.stream && code(r, 0) === e.code ? 'pass' : 'fail';
    }
    case 'silence':
      return closed ||
        frames.some((f) => f.type === FrameType.GOAWAY || f.type === FrameType.RST_STREAM)
        ? 'fail'
        : 'pending';
  }
}

/** Where `w` is met in `frames` from `from` on, or -1. */
function findWait(w: Wait, frames: Frame[], from: number): number {
  for (let i = from; i < frames.length; i++) {
    const f = frames[i] as Frame;
    if (w.wait === 'settings' && f.type === FrameType.SETTINGS) return i;
    if (w.wait === 'data' && f.type === FrameType.DATA) return i;
    if (
      w.wait === 'streamEnd' &&
      (((f.type === FrameType.HEADERS || f.type === FrameType.DATA) && f.flags & Flag.END_STREAM) ||
        (f.type === FrameType.RST_STREAM && f.payload.readUInt32BE(0) === Err.NO_ERROR))
    )
      return i;
  }
  return -1;
}

/** What the server sent, in short: `HEADERS(1 :status 200) DATA(1 19B) GOAWAY(PROTOCOL_ERROR) closed`. */
function describeFrames(frames: Frame[], closed: boolean): string {
  const one = (f: Frame): string => {
    const t = TYPE_NAMES[f.type] ?? `type 0x${f.type.toString(16)}`;
    if (f.type === FrameType.GOAWAY) return `GOAWAY(${errName(f.payload.readUInt32BE(4))})`;
    if (f.type === FrameType.RST_STREAM)
      return `RST_STREAM(${f.stream} ${errName(f.payload.readUInt32BE(0))})`;
    if (f.type === FrameType.HEADERS) return `HEADERS(${f.stream} :status ${statusOf(f.payload)})`;
    if (f.type === FrameType.DATA) return `DATA(${f.stream} ${f.payload.length}B)`;
    if (f.type === FrameType.SETTINGS || f.type === FrameType.PING)
      return `${t}${f.flags & Flag.ACK ? '(ACK)' : ''}`;
    return t;
  };
  const parts = frames.filter((f) => f.type !== FrameType.WINDOW_UPDATE).map(one);
  if (closed) parts.push('closed');
  return parts.join(' ') || 'nothing';
}

interface Run {
  verdict: Verdict;
  /** h2spec's own expectation, judged on the same frames (for allow-listed cases). */
  h2spec: Verdict;
  seen: string;
}

async function run(c: H2specCase): Promise<Run> {
  const expect = c.allow?.observed ?? c.expect;
  const h =
    c.handshake === false
      ? await H2Raw.openRaw(edge.port, Buffer.alloc(0))
      : await H2Raw.open(edge.port, settings([[0x4, 65535]]));
  try {
    let cursor = 0;
    if (c.handshake === undefined) {
      assert.ok(await h.handshake(WAIT_MS), 'the SETTINGS exchange completes');
      cursor = h.frames.length;
    }
    const steps = typeof c.steps === 'function' ? c.steps(h.peerSettings ?? new Map()) : c.steps;
    // Frames between two waits go out in one write, so the server reads them together and no
    // answer from the app can come in between.
    const out: Buffer[] = [];
    const flush = async (): Promise<void> => {
      if (out.length > 0) await h.send(Buffer.concat(out.splice(0)));
    };
    for (const step of steps) {
      if (Buffer.isBuffer(step)) {
        out.push(step);
        continue;
      }
      await flush();
      const at = (): number => findWait(step, h.frames, cursor);
      await h.until(() => at() >= 0, WAIT_MS);
      if (at() < 0) {
        const seen = describeFrames(h.frames.slice(cursor), h.closed);
        return { verdict: 'fail', h2spec: 'fail', seen: `no ${step.wait} frame: ${seen}` };
      }
      cursor = at() + 1;
    }
    await flush();
    const now = (e: Expect): Verdict => judge(e, h.frames.slice(cursor), h.closed);
    await h.until(() => now(expect) !== 'pending', WAIT_MS);
    let verdict = now(expect);
    if (expect.kind === 'silence' && verdict === 'pending') {
      // Nothing decisive came: the connection must still be alive and answering.
      const probe = Buffer.from('alive?\0\0');
      await h.send(frame(FrameType.PING, 0, 0, probe));
      const acked = (): boolean =>
        h.frames.some(
          (f) => f.type === FrameType.PING && f.flags & Flag.ACK && f.payload.equals(probe),
        );
      await h.until(acked, WAIT_MS);
      verdict = acked() ? 'pass' : 'fail';
    }
    const h2spec = c.allow ? now(c.expect) : verdict;
    return {
      verdict: verdict === 'pending' ? 'fail' : verdict,
      h2spec: h2spec === 'pending' ? 'fail' : h2spec,
      seen: describeFrames(h.frames.slice(cursor), h.closed),
    };
  } finally {
    h.close();
  }
}

const describeExpect = (e: Expect): string =>
  e.kind === 'connectionError' || e.kind === 'streamError'
    ? `${e.kind} ${e.codes.map(errName).join('|')}`
    : e.kind;

test('the case list is h2spec’s: 146 cases, unique ids, each allow-listed one with a reason', () => {
  const ids = H2SPEC_CASES.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length, 'ids are unique');
  const suites = { generic: 0, http2: 0, hpack: 0 } as Record<string, number>;
  for (const id of ids)
    suites[id.split('/')[0] as string] = (suites[id.split('/')[0] as string] ?? 0) + 1;
  assert.deepEqual(suites, { generic: 44, http2: 94, hpack: 8 });
  assert.equal(ids.length, 146);
  for (const c of H2SPEC_CASES) {
    assert.match(c.id, /^(generic|http2|hpack)\/[\d.]+\/\d+$/);
    if (c.allow) assert.ok(c.allow.reason.length > 20, `${c.id} says why it is allowed`);
  }
});

describe('h2spec cases against Pillion', { concurrency: CONCURRENCY }, () => {
  for (const c of H2SPEC_CASES) {
    const label = c.allow
      ? `${c.id} (allow-listed): ${c.description}`
      : `${c.id}: ${c.description}`;
    it(label, async (t) => {
      const r = await run(c);
      t.diagnostic(`${c.id}: expected ${describeExpect(c.expect)}; saw ${r.seen}`);
      if (c.allow) {
        t.diagnostic(`allow-listed: ${c.allow.reason}`);
        assert.equal(
          r.verdict,
          'pass',
          `${c.id}: the allow-listed behaviour (${describeExpect(c.allow.observed)}) changed; saw ${r.seen}`,
        );
        assert.equal(
          r.h2spec,
          'fail',
          `${c.id} now passes as h2spec expects: take it off the allow-list`,
        );
      } else {
        assert.equal(
          r.verdict,
          'pass',
          `${c.id}: expected ${describeExpect(c.expect)}; saw ${r.seen}`,
        );
      }
      // By now the case has had its verdict, or WAIT_MS of silence.
      for (const target of c.appNeverSees ?? [])
        assert.ok(
          !edge.spy.requests.some((q) => q.target === target),
          `${c.id}: ${target} reached the app`,
        );
    });
  }
});

test('the runner fails a case whose expectation Pillion does not meet', async () => {
  // A control: the same GET as generic/4/1, judged against answers Pillion does not give.
  const get = H2SPEC_CASES.find((c) => c.id === 'generic/4/1') as H2specCase;
  const wrongStream = await run({ ...get, expect: { kind: 'response', stream: 3 } });
  assert.equal(wrongStream.verdict, 'fail', wrongStream.seen);
  const wrongStatus = await run({ ...get, expect: { kind: 'response', stream: 1, status: 404 } });
  assert.equal(wrongStatus.verdict, 'fail', wrongStatus.seen);
  const ping = H2SPEC_CASES.find((c) => c.id === 'http2/6.7/1') as H2specCase;
  const wrongPing = await run({ ...ping, expect: { kind: 'pingAck', data: Buffer.alloc(8) } });
  assert.equal(wrongPing.verdict, 'fail', wrongPing.seen);
});

test('after every case, Pillion still serves HTTP/2', async () => {
  const s = h2connect(`https://127.0.0.1:${edge.port}`, { rejectUnauthorized: false });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      const st = s.request({ ':path': '/after' });
      st.on('response', (hd) => resolve(Number(hd[':status'])));
      st.on('error', reject);
      st.resume();
    });
    assert.equal(status, 200);
  } finally {
    s.close();
  }
});
