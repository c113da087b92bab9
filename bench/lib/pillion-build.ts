// The Pillion checkout the bench drives (this one, or --pillion-root DIR), and what its CLI
// offers: whether the access log can be turned off, and whether `workers` exists. Both are read
// from `pillion run --help` and `pillion schema`, so a variant the build lacks is reported as
// not available instead of being run as something it is not.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface PillionBuild {
  root: string;
  bin: string;
  /** Node options of the bin's `#!/usr/bin/env -S node ...` line: how the command starts. */
  nodeArgs: string[];
  /** The checkout's pinned Node 24 if it has one, else the Node running the bench. */
  node: string;
  describe: string;
  /** Extra `run` arguments that turn the access log off, given a scratch dir for a config. */
  accessLogOff?: (runDir: string) => string[];
  accessLogOffMissing: string;
  workers?: (n: number) => string[];
  workersMissing: string;
  /** `--admin ADDR`, when the build has an admin listener (and with it, metrics). */
  admin?: (addr: string) => string[];
  adminMissing: string;
}

type Schema = { type?: string; enum?: unknown[]; properties?: Record<string, Schema> };

function withConfig(runDir: string, yaml: string): string[] {
  const file = join(runDir, 'pillion.yaml');
  writeFileSync(file, yaml);
  return ['--config', file];
}

/** The schema's way to turn the access log off, if it has one, as a pillion.yaml. */
function accessLogOffYaml(schema: Schema | undefined): string | undefined {
  for (const [key, s] of Object.entries(schema?.properties?.logs?.properties ?? {})) {
    if (!/^access(_log)?$/.test(key)) continue;
    if (s.type === 'boolean') return `logs:\n  ${key}: false\n`;
    if (s.enum?.includes('off')) return `logs:\n  ${key}: "off"\n`;
    if (s.properties?.enabled?.type === 'boolean') return `logs:\n  ${key}:\n    enabled: false\n`;
  }
  return undefined;
}

export function probePillion(rootDir: string): PillionBuild {
  const root = resolve(rootDir);
  const bin = join(root, 'bin', 'pillion.js');
  if (!existsSync(bin)) throw new Error(`--pillion-root ${root}: no bin/pillion.js there`);
  // Run as the `pillion` command runs: with the options its first line gives Node.
  const shebang = /^#!\S*env -S node((?: --?[\w-]+(?:=\S+)?)*)\s*$/m.exec(
    readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '',
  );
  const nodeArgs = shebang?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  const pinned = join(root, 'node_modules', '.bin', 'node');
  const node = existsSync(pinned) ? pinned : process.execPath;
  const run = (args: string[]): string => {
    const r = spawnSync(node, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 20_000 });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };
  const help = run(['run', '--help']);
  let schema: Schema | undefined;
  try {
    schema = JSON.parse(run(['schema'])) as Schema;
  } catch {
    schema = undefined;
  }
  let commit = 'unknown commit';
  try {
    const git = (a: string[]): string =>
      execFileSync('git', ['-C', root, ...a], { encoding: 'utf8' }).trim();
    commit = git(['rev-parse', '--short', 'HEAD']);
    if (git(['status', '--porcelain', '--untracked-files=no', '--', 'src', 'bin']) !== '') {
      commit += ' with uncommitted changes';
    }
  } catch {
    // not a git checkout
  }

  let accessLogOff: PillionBuild['accessLogOff'];
  if (/--no-access-log\b/.test(help)) accessLogOff = () => ['--no-access-log'];
  else if (/^\s*--access-log [^\n]*\boff\b/m.test(help)) {
    accessLogOff = () => ['--access-log', 'off'];
  } else if (/^\s*--access-log-format [^\n]*\boff\b/m.test(help)) {
    accessLogOff = () => ['--access-log-format', 'off'];
  } else {
    const yaml = accessLogOffYaml(schema);
    if (yaml) accessLogOff = (runDir) => withConfig(runDir, yaml);
  }
  const workers = /--workers\b/.test(help) ? (n: number) => ['--workers', String(n)] : undefined;
  const admin = /--admin\b/.test(help) ? (addr: string) => ['--admin', addr] : undefined;

  return {
    root,
    bin,
    nodeArgs,
    node,
    describe: `bin/pillion.js at ${commit}${nodeArgs.length > 0 ? `, node ${nodeArgs.join(' ')}` : ''}`,
    accessLogOff,
    accessLogOffMissing:
      'not available in this build: neither `pillion run --help` nor `pillion schema` offers a way to turn the access log off',
    workers,
    workersMissing: 'not available in this build: `pillion run --help` has no `--workers`',
    admin,
    adminMissing: 'not available in this build: `pillion run --help` has no `--admin`',
  };
}
