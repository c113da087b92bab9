// Builds what is published: Node refuses to strip types under node_modules, so the package
// ships JavaScript. esbuild bundles the CLI (src/main.ts) and the data-path worker the workers
// feature forks (src/worker-main.ts, found beside the code that forks it: src/sidecar.ts) into
// dist/ as ESM. Run by `prepack`; `postpack` removes dist/ again, and bin/pillion.js prefers
// the sources whenever they are there, so a checkout never runs a stale bundle.
//
// Every dependency is bundled, so the package has no runtime `dependencies` to install.
// Splitting keeps each command's own modules in their own chunks (main.ts loads them with
// import()), as the sources do: `pillion validate` does not load the proxy. A CommonJS package
// loaded with import() becomes a chunk whose only export is `default` (module.exports), so
// the sources use `(await import('pkg')).default`, which is the same object under plain Node;
// test/e2e/the-packed-package-installs-and-serves-https.test.ts runs each such import.

import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

// The sources load yaml lazily and synchronously with createRequire (src/config/load.ts: only a
// run with a config file pays for it), which esbuild cannot follow. In the bundle the same call
// becomes a plain require('yaml'), which esbuild bundles as a module run at its first call.
const LAZY_YAML = "createRequire(import.meta.url)('yaml')";
const lazyYaml: Plugin = {
  name: 'lazy-yaml',
  setup(b) {
    b.onLoad({ filter: /src[\\/]config[\\/]load\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes(LAZY_YAML)) throw new Error(`${args.path}: no ${LAZY_YAML} to bundle`);
      return { contents: text.replace(LAZY_YAML, "require('yaml')"), loader: 'ts' };
    });
  },
};

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist`;

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/main.ts', 'worker-main': 'src/worker-main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // bin/pillion.js refuses older Node; 22.18 is the oldest that runs the sources too.
  target: 'node22.18',
  // Chunks sit beside main.js: code that finds files relative to its own module
  // (`../package.json`, `./worker-main.js`) resolves the same from every chunk.
  chunkNames: '[name]-[hash]',
  // ESM builds where a package has one: @peculiar/x509's CommonJS build, bundled, lost its
  // named exports (X509CertificateGenerator was undefined at the first generated certificate).
  mainFields: ['module', 'main'],
  // Some bundled packages are CommonJS and call require(); ESM output has none of its own.
  banner: {
    js: "import { createRequire as __pillionRequire } from 'node:module'; const require = __pillionRequire(import.meta.url);",
  },
  legalComments: 'eof',
  metafile: true,
  plugins: [lazyYaml],
  logLevel: 'warning',
});
const bytes = Object.entries(result.metafile.outputs)
  .filter(([file]) => file.endsWith('.js'))
  .reduce((sum, [, out]) => sum + out.bytes, 0);
process.stderr.write(`dist/: ${Math.round(bytes / 1024)} KiB of JavaScript\n`);
