#!/usr/bin/env node
// Entry point for the `pillion` command. Node 22.18+ runs the TypeScript sources directly
// (type stripping); older Node cannot, so say so plainly instead of failing on syntax.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `pillion: needs Node.js 22.18 or newer (this is ${process.version}); in a checkout, npx pillion uses the pinned Node 24\n`,
  );
  process.exit(1);
}
await import('../src/main.ts');
