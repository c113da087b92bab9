#!/usr/bin/env node
// Entry point for the `pillion` command. Node 22.18+ runs the TypeScript sources directly.
import '../src/main.ts';
