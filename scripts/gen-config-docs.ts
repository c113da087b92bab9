// Writes src/config/schema.json (what Pillion checks and `pillion schema` prints), then
// docs/config.md from it, both from src/config/schema.ts: `npm run docs:config`. Tests fail when
// either is stale.
import { writeFileSync } from 'node:fs';
import { schemaJsonText } from '../src/config/schema.ts';

writeFileSync(new URL('../src/config/schema.json', import.meta.url), schemaJsonText());
// Imported only now: it reads schema.json as it loads, which may have been missing or stale
// (a merge) until the line above.
const { renderConfigDocs } = await import('../src/config/docs.ts');
writeFileSync(new URL('../docs/config.md', import.meta.url), renderConfigDocs());
