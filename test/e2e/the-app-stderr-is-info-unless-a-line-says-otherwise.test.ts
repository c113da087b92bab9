import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from './chaos.ts';
import { h1Request, type LogLine, startPillion, tempDir } from './harness.ts';

// The README's own example: python's http.server writes a line to stderr for every request.
async function pythonRequestLine(args: string[], cwd?: string): Promise<LogLine[]> {
  const appPort = await freePort();
  const p = startPillion(
    [
      'run',
      '--listen',
      '127.0.0.1:0',
      ...args,
      '--',
      'python3',
      '-u',
      '-c',
      // One request line from the server, then a line that names its level.
      `import http.server, sys
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, f, *a):
        super().log_message(f, *a)
        sys.stderr.write("ERROR: after the request\\n")
http.server.test(HandlerClass=H, port=${appPort}, bind="127.0.0.1")`,
    ],
    { bin: true, ...(cwd ? { env: { PILLION_CONFIG: join(cwd, 'pillion.yaml') } } : {}) },
  );
  try {
    const port = await p.port();
    await p.ready();
    assert.equal((await h1Request(port, '/')).status, 200);
    await p.waitForLog((l) => l.msg === 'ERROR: after the request', 'the app error line');
    return p.lines.filter((l) => l.source === 'app' && l.stream === 'stderr');
  } finally {
    p.proc.kill('SIGTERM');
    await p.exited;
  }
}

test("the app's stderr is logged at info unless a line names its level", async () => {
  const lines = await pythonRequestLine([]);
  const request = lines.find((l) => l.msg.includes('"GET / HTTP/1.1" 200'));
  assert.ok(request, JSON.stringify(lines));
  assert.equal(request.level, 'info');
  const error = lines.find((l) => l.msg === 'ERROR: after the request');
  assert.equal(error?.level, 'error');
});

test('logs.app.stderr_level: error in pillion.yaml logs such lines as errors again', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'pillion.yaml'), 'logs:\n  app:\n    stderr_level: error\n');
  const lines = await pythonRequestLine([], dir);
  const request = lines.find((l) => l.msg.includes('"GET / HTTP/1.1" 200'));
  assert.equal(request?.level, 'error');
});

test('--log-stderr-level warn sets it from the command line', async () => {
  const lines = await pythonRequestLine(['--log-stderr-level', 'warn']);
  const request = lines.find((l) => l.msg.includes('"GET / HTTP/1.1" 200'));
  assert.equal(request?.level, 'warn');
  assert.equal(lines.find((l) => l.msg === 'ERROR: after the request')?.level, 'error');
});
