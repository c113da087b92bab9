// Rebuilds the dashboard bundle: `npm run build:dashboard`.
import { writeFileSync } from 'node:fs';
import { dashboardModule, GENERATED } from './dashboard-bundle.ts';

writeFileSync(GENERATED, await dashboardModule());
