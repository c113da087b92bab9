// Log throughput: the seq app's lines through Pillion into a file sink, against the same app
// writing into a pipe that is only drained. Prints lines/s, MB/s, Pillion's CPU per line and
// the app's own write rate with and without Pillion, then checks the file for loss.
//   npm run bench:logs [-- --lines N --sizes mixed|medium|small --no-verify]
// Without --lines it runs two cases: 1,000,000 small lines and 100,000 mixed-size lines
// (half on stdout, half on stderr).
import { spawn } from 'node:child_process';
import {
  createReadStream,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SizeMix } from '../test/fixtures/seq-lines.ts';
import { SeqVerifier } from '../test/fixtures/seq-verify.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const SEQ_APP = fileURLToPath(new URL('../test/fixtures/seq-app.ts', import.meta.url));

const { values } = parseArgs({
  options: {
    lines: { type: 'string' },
    sizes: { type: 'string', default: 'mixed' },
    'no-verify': { type: 'boolean', default: false },
  },
});

interface Done {
  stdout: number;
  stderr: number;
  ms: number;
}

function exit(child: ReturnType<typeof spawn>): Promise<number> {
  return new Promise((resolve) => child.once('close', (code) => resolve(code ?? -1)));
}

/** The app alone, its pipes drained and discarded by this process. */
async function appAlone(
  perStream: number,
  sizes: SizeMix,
  dir: string,
): Promise<Done & { bytes: number }> {
  const done = join(dir, 'alone.json');
  const child = spawn(
    process.execPath,
    [SEQ_APP, '--count', String(perStream), '--sizes', sizes, '--done', done],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let bytes = 0;
  child.stdout?.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  child.stderr?.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  await exit(child);
  return { ...JSON.parse(readFileSync(done, 'utf8')), bytes };
}

/** Pillion's CPU in ms and its exit, for one run with the seq app under it. */
async function throughPillion(
  perStream: number,
  sizes: SizeMix,
  dir: string,
  file: string,
): Promise<{ done: Done; cpuMs: number; wallMs: number }> {
  const done = join(dir, 'pillion.json');
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'run',
      '--admin',
      '127.0.0.1:0',
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      join(dir, 'state'),
      '--log-file',
      file,
      '--log-file-max-size',
      '1G',
      '--log-file-keep',
      '1000',
      '--log-file-only',
      '--',
      process.execPath,
      SEQ_APP,
      '--count',
      String(perStream),
      '--sizes',
      sizes,
      '--done',
      done,
      // Ready at once: Pillion's port detection stops polling, as with a real server.
      '--serve',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const code = await exit(child);
  if (code !== 0) throw new Error(`pillion exited ${code}`);
  // Pillion's closing line, the last in the file, carries its CPU time.
  const tail = readFileSync(file, 'utf8').trimEnd();
  const cpuMs = JSON.parse(tail.slice(tail.lastIndexOf('\n') + 1)).cpu_ms as number;
  return { done: JSON.parse(readFileSync(done, 'utf8')), cpuMs, wallMs: performance.now() - t0 };
}

async function verify(file: string, sizes: SizeMix, perStream: number): Promise<string> {
  const verifier = new SeqVerifier(sizes);
  // Rotated files first, oldest (highest number) to newest, then the current file.
  const dir = dirname(file);
  const base = basename(file);
  const rotated = readdirSync(dir)
    .filter((f) => f.startsWith(`${base}.`))
    .map((f) => Number(f.slice(base.length + 1)))
    .sort((a, b) => b - a)
    .map((n) => `${file}.${n}`);
  for (const f of [...rotated, file]) {
    const rl = createInterface({ input: createReadStream(f) });
    for await (const text of rl) verifier.add(JSON.parse(text));
  }
  const parts: string[] = [];
  for (const s of ['stdout', 'stderr'] as const) {
    const r = verifier.report(s, perStream);
    parts.push(
      `${s}: received ${r.received}, lost ${r.lost}, duplicated ${r.duplicated}, reordered ${r.reordered}, corrupted ${r.corrupted}, partial ${r.partial}`,
    );
  }
  return parts.join('; ');
}

async function benchCase(total: number, sizes: SizeMix): Promise<void> {
  const perStream = Math.floor(total / 2);
  const dir = mkdtempSync(join(tmpdir(), 'pillion-bench-logs-'));
  try {
    // Pillion's fixed cost (start, certificate, stop) with no app output, to subtract.
    const idle = await throughPillion(0, sizes, dir, join(dir, 'idle.log'));
    const alone = await appAlone(perStream, sizes, dir);
    const file = join(dir, 'pillion.log');
    const run = await throughPillion(perStream, sizes, dir, file);
    const fileBytes = readdirSync(dir)
      .filter((f) => f.startsWith('pillion.log'))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const lines = perStream * 2;
    const appMB = alone.bytes / 1e6;
    const cpuPerLineUs = ((run.cpuMs - idle.cpuMs) * 1000) / lines;
    const carryMs = run.done.ms; // the app's writing time under Pillion: lines flow at this rate
    const result = {
      case: `${lines.toLocaleString('en')} lines, ${sizes} sizes, ${appMB.toFixed(0)} MB of app output`,
      app_alone_lines_per_s: Math.round(lines / (alone.ms / 1000)),
      app_alone_MB_per_s: +(appMB / (alone.ms / 1000)).toFixed(1),
      app_under_pillion_lines_per_s: Math.round(lines / (carryMs / 1000)),
      app_under_pillion_MB_per_s: +(appMB / (carryMs / 1000)).toFixed(1),
      app_rate_ratio: +(alone.ms / carryMs).toFixed(2),
      pillion_wall_s: +(run.wallMs / 1000).toFixed(2),
      pillion_idle_wall_s: +(idle.wallMs / 1000).toFixed(2),
      pillion_cpu_us_per_line: +cpuPerLineUs.toFixed(2),
      pillion_cpu_ns_per_app_byte: +(((run.cpuMs - idle.cpuMs) * 1e6) / alone.bytes).toFixed(2),
      log_file_MB: +(fileBytes / 1e6).toFixed(0),
      verify: values['no-verify'] ? 'skipped' : await verify(file, sizes, perStream),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.lines) await benchCase(Number(values.lines), values.sizes as SizeMix);
else {
  await benchCase(1_000_000, 'small');
  await benchCase(100_000, 'mixed');
}
