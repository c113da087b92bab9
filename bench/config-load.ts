// How long parsing and validating a full pillion.yaml takes (what each reload costs before
// anything is applied). Run: npm run bench:config
import { performance } from 'node:perf_hooks';
import { parseConfig } from '../src/config/load.ts';

const TEXT = `app:
  command: [python3, -m, http.server, "8080"]
  port: 8080
  stop_timeout: 10s
  config: { feature_x: true, limits: { rps: 100, burst: 20 }, names: [a, b, c] }
  secrets:
    db_password: { file: /var/run/secrets/db/password }
    api_key: { env: API_KEY }
ingress:
  listen: \${LISTEN:-0.0.0.0:8443}
  tls: { cert: tls.crt, key: tls.key }
logs:
  format: json
drain:
  timeout: 20s
`;
const ROUNDS = 5000;
for (let i = 0; i < 500; i++) parseConfig(TEXT, 'pillion.yaml', {});
const t0 = performance.now();
for (let i = 0; i < ROUNDS; i++) parseConfig(TEXT, 'pillion.yaml', {});
const us = ((performance.now() - t0) * 1000) / ROUNDS;
console.log(
  JSON.stringify({ bench: 'config-load', rounds: ROUNDS, us_per_parse: Number(us.toFixed(1)) }),
);
