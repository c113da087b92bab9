// Runs the seq app under the real CLI and checks, line by line as they arrive, what Pillion
// wrote on its stdout (or in a log file) against what the app wrote.
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SizeMix } from '../fixtures/seq-lines.ts';
import { SeqVerifier } from '../fixtures/seq-verify.ts';
import { type LogLine, MAIN, tempDir } from './harness.ts';

/** One state dir for every run in a test file (the generated certificate is reused). */
let stateDir: string | undefined;

function sharedStateDir(): string {
  if (stateDir === undefined) stateDir = tempDir();
  return stateDir;
}

export const SEQ_APP = fileURLToPath(new URL('../fixtures/seq-app.ts', import.meta.url));

export interface SeqRun {
  proc: ChildProcess;
  verifier: SeqVerifier;
  /** Every line that is not the app's (Pillion's own events), parsed. */
  others: LogLine[];
  /** Lines on stdout that were not JSON. */
  garbage: string[];
  stderr: () => string;
  /** Pillion's exit code once stdout has ended and every line is checked. */
  exited: Promise<number>;
  /** Starts reading Pillion's stdout, for a run started paused, or again after `pause`. */
  resume(): void;
  /** Stops reading Pillion's stdout: once what was read ahead is taken, its pipe fills. */
  pause(): void;
}

/** Starts `pillion run <flags> -- node seq-app.ts <appArgs>` and verifies its stdout as it goes. */
export function runSeq(
  flags: string[],
  appArgs: string[],
  sizes: SizeMix,
  opts: { paused?: boolean } = {},
): SeqRun {
  const proc = spawn(
    process.execPath,
    [
      MAIN,
      'run',
      '--listen',
      '127.0.0.1:0',
      // One app life per run: its lines are what the verifier counts.
      '--restart',
      'never',
      // The default admin port is never taken by a test.
      ...(flags.includes('--admin') ? [] : ['--admin', '127.0.0.1:0']),
      ...flags,
      '--',
      process.execPath,
      SEQ_APP,
      '--sizes',
      sizes,
      ...appArgs,
    ],
    {
      env: { ...process.env, PILLION_STATE_DIR: sharedStateDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const verifier = new SeqVerifier(sizes);
  const others: LogLine[] = [];
  const garbage: string[] = [];
  let err = '';
  proc.stderr?.on('data', (c) => {
    err += c;
  });
  // Paused: Pillion's stdout is not read (the pipe fills) until resume().
  let rl: Interface | undefined;
  const resume = (): void => {
    if (rl) {
      rl.resume();
      return;
    }
    rl = createInterface({ input: proc.stdout as NonNullable<typeof proc.stdout> });
    rl.on('line', (text) => feed(text, verifier, others, garbage));
  };
  const pause = (): void => {
    rl?.pause();
  };
  if (!opts.paused) resume();
  const exited = new Promise<number>((resolve) => {
    proc.once('close', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 143)));
  });
  return { proc, verifier, others, garbage, stderr: () => err, exited, resume, pause };
}

function feed(text: string, verifier: SeqVerifier, others: LogLine[], garbage: string[]): void {
  let parsed: LogLine;
  try {
    parsed = JSON.parse(text);
  } catch {
    garbage.push(text.slice(0, 200));
    return;
  }
  if (parsed.source === 'app') verifier.add(parsed);
  else others.push(parsed);
}

/** Verifies a JSON-lines log file the same way. */
export async function verifyFile(
  file: string,
  sizes: SizeMix,
  verifier = new SeqVerifier(sizes),
): Promise<{ verifier: SeqVerifier; others: LogLine[]; garbage: string[] }> {
  const others: LogLine[] = [];
  const garbage: string[] = [];
  const rl = createInterface({ input: createReadStream(file) });
  for await (const text of rl) feed(text, verifier, others, garbage);
  return { verifier, others, garbage };
}
