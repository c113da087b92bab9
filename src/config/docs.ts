// Renders docs/config.md from the schema, so the reference cannot drift from what is checked.
import { flagFor } from './flags.ts';
import { CONFIG_SCHEMA, type SchemaNode, shownDefault } from './schema-json.ts';

const HEADER = `# pillion.yaml reference

<!-- Generated from src/config/schema.ts by \`npm run docs:config\`; a test fails when it is stale. -->

Pillion reads one file, \`pillion.yaml\`: the one given by \`--config FILE\`, else by
\`$PILLION_CONFIG\`, else \`./pillion.yaml\` if it exists. Every flag of \`pillion run\` sets one
field below (the flag column) and overrides the file; the flags are set onto the file's fields
and the whole is checked once, so \`pillion validate\`, \`pillion config\` and \`pillion run\`
accept the same things (the first two take the flags of run too). A relative path in the file
is relative to the file's directory; one given by a flag, to the working directory.

- \`pillion validate [FILE] [FLAGS]\` checks the config and what can be checked without running
  (the certificate and key exist, parse as PEM and match; the ports do not clash; the state
  directory is usable), and exits 0 or 1.
- \`pillion config [FILE] [FLAGS]\` prints the effective config: defaults filled in, paths made
  absolute, secrets (and passwords in URLs) redacted. What it prints is a valid config file.
- \`pillion schema\` prints the JSON Schema of the file (point your editor's YAML support at it).

- **Environment:** \`\${NAME}\` and \`\${NAME:-default}\` in any value are replaced from Pillion's
  environment (the default also applies when the variable is empty); \`$$\` is a literal \`$\`. A
  variable that is unset without a default is an error. A value from the environment is read as
  a number or boolean where the field wants one.
- **Durations** are seconds (\`10\`, \`1.5\`) or carry a unit (\`500ms\`, \`10s\`, \`2m\`, \`1h\`),
  at most 24 days. **Sizes** are bytes (\`512\`) or carry a unit (\`16KiB\`, \`1MiB\`, \`1GB\`).
- **Errors** name the file, line, column and field (a flag's error names the flag), all at once:
  \`pillion.yaml:12:5: ingress.tls.cert: expected a file path, got a number\`. An unknown key gets a
  "did you mean"; a YAML syntax error shows the line (its values masked) with a caret. A value is
  never echoed in an error, as it may be a secret; nor is a key that looks like a pasted token.
- **Reserved names:** a section or field marked *not supported yet* is part of the shape but its
  feature has not landed; a file that sets it is rejected rather than silently half-applied.

## Hot reload

Pillion watches the directory of the config file (and of its target, when the file is a
symlink), so an edit in place, an atomic rename and a Kubernetes ConfigMap \`..data\` symlink
swap are all seen (other files in that directory, such as a log file, are ignored); \`SIGHUP\` to Pillion reloads the file too, as it does for NGINX (set
\`app.forward_sighup: true\` or \`--forward-sighup\` to pass SIGHUP to the app instead, as
Pillion did before). A changed file is resolved with the flags the way \`pillion run\` resolves
it, and validated whole first. If it is invalid, it is rejected: the errors are logged
(\`config rejected; the last good config stays in force\`, with \`code\`, \`errors\` and the
counters \`reloads\` and \`rejected\`) and nothing changes. A valid text that cannot be applied
(a new listen port in use) is also rejected, and tried again at the next poll (2 s).

If it is valid, the fields marked **live** below apply at once, without dropping a connection
(the app hears of \`app.config\` and secret changes on its watch stream), and the event
\`config reloaded\` is logged with the same counters. A changed field marked **restart** keeps
its running value until Pillion is restarted, and the event
\`config fields changed that apply only at the next start; not applied\` names it. A field
marked **restart app** is applied by restarting the app (requests held, none failed) when
\`app.restart_on_change\` is true; otherwise it waits for the next start too.

A reload is one transaction: every concern first prepares its part (opens a new log file, binds
a new listen port, reads the secrets), then all of them commit; if any step fails, the prepared
parts are released and the running config stays whole. Each reload is logged with the field
paths that changed (never their values) and counted.

## Fields

| field | flag | type | default | reload | description |
|---|---|---|---|---|---|
`;

function typeOf(s: SchemaNode): string {
  if (s['x-kind'] === 'duration') return 'duration';
  if (s['x-kind'] === 'listen') return 'HOST:PORT';
  if (s['x-kind'] === 'path') return 'path';
  if (s['x-kind'] === 'size') return 'size';
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.type === 'array') return `list of ${typeOf(s.items ?? {})}`;
  if (s.type === 'integer' && s.minimum !== undefined && s.maximum !== undefined)
    return `integer ${s.minimum}–${s.maximum}`;
  if (s.type === 'object') return s.patternProperties ? 'map of NAME →' : 'map';
  return s.type ?? 'any';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function rows(s: SchemaNode, path: string, out: string[]): void {
  for (const [key, sub] of Object.entries(s.properties ?? {})) {
    const p = path ? `${path}.${key}` : key;
    const required = s.required?.includes(key) ? ' (required)' : '';
    const shown = shownDefault(sub);
    const def = shown === undefined ? '' : sub['x-default'] ? shown : `\`${shown}\``;
    const flag = p === 'app.command' ? '-- CMD' : flagFor(p);
    const reload = sub['x-not-yet']
      ? ''
      : sub['x-live'] === true
        ? 'live'
        : sub['x-app-restart']
          ? 'restart app'
          : sub['x-live'] === false
            ? 'restart'
            : '';
    const desc = sub['x-not-yet']
      ? `*Not supported yet* (reserved for ${sub['x-not-yet']}). ${sub.description ?? ''}`
      : (sub.description ?? '');
    out.push(
      `| \`${p}\`${required} | ${flag ? `\`${flag}\`` : ''} | ${cell(typeOf(sub))} | ${cell(def)} | ${reload} | ${cell(desc.trim())} |`,
    );
    if (sub['x-not-yet']) continue;
    if (sub.type === 'object') rows(sub, p, out);
    if (sub.type === 'array' && sub.items?.type === 'object') rows(sub.items, `${p}[]`, out);
    const entry = Object.values(sub.patternProperties ?? {})[0];
    if (entry?.type === 'object') rows(entry, `${p}.NAME`, out);
    const branch = sub.anyOf?.find((b) => b.type === 'object');
    if (branch) rows(branch, p, out);
  }
}

/** The whole of docs/config.md. */
export function renderConfigDocs(schema: SchemaNode = CONFIG_SCHEMA): string {
  const out: string[] = [];
  rows(schema, '', out);
  return `${HEADER}${out.join('\n')}\n`;
}
