import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import { describe, type TestContext, test } from 'node:test';
import {
  findAppPort,
  listeningSockets,
  processTree,
  scanTree,
  treeListeningSockets,
} from './port-detect.ts';

interface Child {
  pid: number;
  /** The next line the child prints, parsed as JSON. */
  next: () => Promise<Record<string, number>>;
  /** Sends a line to the child's stdin. */
  tell: (line: string) => void;
}

/** Kills a process by PID if it still exists. */
function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Starts `node -e script`; it is killed after the test whatever happens. */
function spawnNode(t: TestContext, script: string): Child {
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = proc.pid;
  assert.ok(pid, 'child started');
  t.after(() => killPid(pid));
  const lines = createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  return {
    pid,
    next: async () => {
      const { value, done } = await lines.next();
      assert.ok(!done, 'child exited before printing a line');
      return JSON.parse(value);
    },
    tell: (line) => proc.stdin.write(`${line}\n`),
  };
}

/** A child script: listens on each host, prints {"port":N} per server, closes all on "close". */
function listener(...hosts: string[]): string {
  return `
    const net = require('node:net');
    const servers = ${JSON.stringify(hosts)}.map((host) => {
      const s = net.createServer();
      s.listen(0, host, () => console.log(JSON.stringify({ port: s.address().port })));
      return s;
    });
    require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
      if (line !== 'close') return;
      let left = servers.length;
      for (const s of servers) s.close(() => { if (--left === 0) console.log('{"closed":1}'); });
    });
  `;
}

/** True when this host can listen on IPv6 loopback. */
async function ipv6Available(): Promise<boolean> {
  const server = createServer();
  try {
    server.listen(0, '::1');
    await once(server, 'listening');
    return true;
  } catch {
    return false;
  } finally {
    server.close();
  }
}

/** Opens and closes one TCP connection; rejects if nothing accepts it. */
async function dial(host: string, port: number): Promise<void> {
  const socket = connect(port, host);
  try {
    await once(socket, 'connect');
  } finally {
    socket.destroy();
  }
}

describe('port detection', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  test('finds the port a child listens on at 127.0.0.1', async (t) => {
    const child = spawnNode(t, listener('127.0.0.1'));
    const { port } = await child.next();
    const found = await treeListeningSockets(child.pid);
    assert.equal(found.length, 1);
    assert.equal(found[0].port, port);
    assert.equal(found[0].host, '127.0.0.1');
    assert.ok(Number.isInteger(found[0].inode) && found[0].inode > 0);
    await dial(found[0].host, found[0].port);
  });

  test('maps a 0.0.0.0 bind to 127.0.0.1', async (t) => {
    const child = spawnNode(t, listener('0.0.0.0'));
    const { port } = await child.next();
    assert.deepEqual(
      (await treeListeningSockets(child.pid)).map((s) => [s.host, s.port]),
      [['127.0.0.1', port]],
    );
  });

  test('maps a [::] bind to ::1', async (t) => {
    if (!(await ipv6Available())) {
      t.skip('IPv6 is not available');
      return;
    }
    const child = spawnNode(t, listener('::'));
    const { port } = await child.next();
    const found = await treeListeningSockets(child.pid);
    assert.deepEqual(
      found.map((s) => [s.host, s.port]),
      [['::1', port]],
    );
    await dial(found[0].host, found[0].port);
  });

  test('reports ::1 as it is', async (t) => {
    if (!(await ipv6Available())) {
      t.skip('IPv6 is not available');
      return;
    }
    const child = spawnNode(t, listener('::1'));
    const { port } = await child.next();
    assert.deepEqual(
      (await treeListeningSockets(child.pid)).map((s) => [s.host, s.port]),
      [['::1', port]],
    );
  });

  test('lists every port of the tree once, ordered by port', async (t) => {
    const child = spawnNode(t, listener('127.0.0.1', '127.0.0.1', '127.0.0.1'));
    const ports = [(await child.next()).port, (await child.next()).port, (await child.next()).port];
    const found = await treeListeningSockets(child.pid);
    assert.deepEqual(
      found.map((s) => s.port),
      ports.toSorted((a, b) => a - b),
    );
  });

  test('finds nothing for a child that does not listen', async (t) => {
    const child = spawnNode(
      t,
      "console.log('{\"up\":1}'); process.stdin.resume(); process.stdin.on('end', () => process.exit());",
    );
    await child.next();
    assert.deepEqual(await treeListeningSockets(child.pid), []);
  });

  test('leaves out ports of processes outside the tree', async (t) => {
    const own: Server = createServer();
    own.listen(0, '127.0.0.1');
    await once(own, 'listening');
    t.after(() => own.close());
    const ownPort = (own.address() as { port: number }).port;

    const child = spawnNode(t, listener('127.0.0.1'));
    const { port } = await child.next();
    const found = (await treeListeningSockets(child.pid)).map((s) => s.port);
    assert.deepEqual(found, [port]);
    assert.ok(!found.includes(ownPort));
    // From this process, both are in the tree.
    const mine = (await treeListeningSockets(process.pid)).map((s) => s.port);
    assert.ok(mine.includes(ownPort), 'own port found from own pid');
    assert.ok(mine.includes(port), "child's port found from parent pid");
  });

  test("finds a grandchild's port from the parent's pid", async (t) => {
    // The child starts a listening grandchild that shares its stdout, then prints its pid.
    const script = `
      const { spawn } = require('node:child_process');
      const g = spawn(process.execPath, ['-e', ${JSON.stringify(listener('127.0.0.1'))}], {
        stdio: ['pipe', 'inherit', 'inherit'],
      });
      console.log(JSON.stringify({ grandchild: g.pid }));
      process.stdin.pipe(g.stdin);
    `;
    const child = spawnNode(t, script);
    const { grandchild } = await child.next();
    t.after(() => killPid(grandchild));
    const { port } = await child.next();

    const tree = await processTree(child.pid);
    assert.equal(tree[0], child.pid);
    assert.ok(tree.includes(grandchild), `tree ${tree} includes grandchild ${grandchild}`);
    // The children files give the same tree as a scan of every process's parent.
    assert.deepEqual(new Set(await scanTree(child.pid)), new Set(tree));

    const found = await treeListeningSockets(child.pid);
    assert.deepEqual(
      found.map((s) => [s.host, s.port]),
      [['127.0.0.1', port]],
    );
    // The child holds no listening socket itself; the grandchild's own tree has the port too.
    assert.ok((await treeListeningSockets(grandchild)).some((s) => s.port === port));
  });

  test('processTree starts with the root and includes its children', async (t) => {
    const child = spawnNode(t, listener('127.0.0.1'));
    await child.next();
    const tree = await processTree(process.pid);
    assert.equal(tree[0], process.pid);
    assert.ok(tree.includes(child.pid));
    assert.equal(new Set(tree).size, tree.length, 'no pid twice');
    assert.deepEqual(await processTree(child.pid), [child.pid]);
  });

  test('processTree of a pid that does not exist is only that pid', async () => {
    // PIDs are at most 2^22 on Linux, so this one is never in use.
    assert.deepEqual(await processTree(2 ** 22 + 1), [2 ** 22 + 1]);
    assert.deepEqual(await treeListeningSockets(2 ** 22 + 1), []);
  });

  /** What readiness sees of a given --app-port: the LISTEN socket, or nothing. */
  const given = async (port: number): Promise<boolean> =>
    (await findAppPort(port, undefined, 0)) !== undefined;

  test('a given port is found while the server listens and not once it closes', async (t) => {
    const child = spawnNode(t, listener('127.0.0.1'));
    const { port } = await child.next();
    assert.equal(await given(port), true);
    child.tell('close');
    assert.deepEqual(await child.next(), { closed: 1 });
    assert.equal(await given(port), false);
    assert.deepEqual(await treeListeningSockets(child.pid), []);
  });

  test('a given port nobody listens on is not found', async () => {
    // Bind then close to get a port that was free a moment ago.
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    const port = (s.address() as { port: number }).port;
    assert.equal(await given(port), true);
    await new Promise<void>((resolve) => s.close(() => resolve()));
    assert.equal(await given(port), false);
  });

  test('listeningSockets keys each socket by its inode', async () => {
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    try {
      const port = (s.address() as { port: number }).port;
      const all = await listeningSockets();
      const mine = [...all.entries()].filter(([, v]) => v.port === port);
      assert.equal(mine.length, 1);
      const [inode, sock] = mine[0];
      assert.equal(sock.inode, inode);
      assert.equal(sock.host, '127.0.0.1');
    } finally {
      s.close();
    }
  });

  test('listeningSockets: callers at the same time share one read; a later call reads again', async () => {
    // A crash loop leaves one readiness read per exited instance in flight: they must not pile up.
    const reads = Array.from({ length: 50 }, () => listeningSockets());
    assert.equal(new Set(reads).size, 1);
    const first = await reads[0];
    const s = createServer();
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    try {
      const port = (s.address() as { port: number }).port;
      assert.ok(![...first.values()].some((x) => x.port === port));
      const again = await listeningSockets();
      assert.ok(
        [...again.values()].some((x) => x.port === port),
        'a fresh read sees the new port',
      );
    } finally {
      s.close();
    }
  });
});
