// The dashboard bundle is checked in (Pillion has no build step to run); it must be what
// `npm run build:dashboard` makes from src/dashboard/client/ now.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { dashboardModule, GENERATED } from '../../scripts/dashboard-bundle.ts';

test('the checked-in dashboard bundle is what the build makes from its sources', async () => {
  const fresh = await dashboardModule();
  const kept = readFileSync(GENERATED, 'utf8');
  assert.ok(kept === fresh, 'src/dashboard/bundle.gen.ts is stale: run `npm run build:dashboard`');
});
