// Writes docs/config.md from the schema: `npm run docs:config`.
import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from '../src/config/docs.ts';

writeFileSync(new URL('../docs/config.md', import.meta.url), renderConfigDocs());
