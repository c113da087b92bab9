// The machine and the versions of everything measured, for the report's header.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

function out(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export function machine(): string {
  const os = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
  const c = cpus();
  return `${os ?? 'Linux'}, kernel ${release()}, ${c.length} vCPUs (${c[0]?.model.trim() ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM`;
}

export function versions(pillionNode: string): Record<string, string> {
  const node = out(pillionNode, [
    '-p',
    'process.version + " (OpenSSL " + process.versions.openssl + ", llhttp " + process.versions.llhttp + ", nghttp2 " + process.versions.nghttp2 + ")"',
  ]);
  return {
    nginx: /nginx\/(\S+)/.exec(out('nginx', ['-v']))?.[1] ?? '?',
    haproxy: /HAProxy version (\S+)/.exec(out('haproxy', ['-v']))?.[1] ?? '?',
    'node (Pillion, node-naive)': node,
    'system OpenSSL (nginx, HAProxy, wrk, h2load)':
      /OpenSSL (\S+)/.exec(out('openssl', ['version']))?.[1] ?? '?',
    wrk: out('dpkg-query', ['-W', 'wrk']).split('\t')[1] ?? '?',
    h2load: /nghttp2\/(\S+)/.exec(out('h2load', ['--version']))?.[1] ?? '?',
  };
}
