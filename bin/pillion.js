#!/usr/bin/env -S node --max-semi-space-size=4
// The flag above: V8's young generation otherwise grows to 128 MiB under load (each request's
// short-lived objects), and Pillion's RSS with it: 207 -> 118 MiB at 12-byte HTTP/1.1 and
// 266 -> 152 MiB at HTTP/2 under bench load, for the same CPU per request. It can only be
// given at start (V8 sizes the heap then); `node bin/pillion.js` runs without it.
// Entry point for the `pillion` command. Node 22.18+ runs the TypeScript sources directly
// (type stripping); older Node cannot, so say so plainly instead of failing on syntax.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `pillion: needs Node.js 22.18 or newer (this is ${process.version}); in a checkout, npx pillion uses the pinned Node 24\n`,
  );
  process.exit(1);
}
// Keeps V8's compiled code and the stripped TypeScript between runs (in the OS temp dir, or
// NODE_COMPILE_CACHE; NODE_DISABLE_COMPILE_CACHE=1 turns it off): half of a start-up is
// spent compiling and stripping Pillion's own sources (bench/startup.ts). A read-only temp
// dir only means no cache.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
// A checkout runs its sources; the published package has no src/, only the JavaScript that
// `npm pack` bundled into dist/ (scripts/build.ts; Node will not strip types under
// node_modules). The sources win whenever they are there, so a dist/ left in a checkout
// never runs in their place.
const { existsSync } = await import('node:fs');
const sources = new URL('../src/main.ts', import.meta.url);
await import(existsSync(sources) ? sources.href : '../dist/main.js');
