/** `${VAR}`, `${VAR:-default}` and `$$` (a literal `$`) in a config string. */
const REF = /\$\$|\$\{([^}]*)\}|\$\{/g;
const NAME = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export type Expansion =
  | { ok: true; value: string; vars: string[] }
  | { ok: false; message: string; offset: number };

/**
 * Expands environment references in `text`. A variable that is unset (or empty, with `:-`)
 * takes its default; one unset without a default is an error naming it, never its value.
 */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): Expansion {
  if (!text.includes('$')) return { ok: true, value: text, vars: [] };
  const vars: string[] = [];
  let out = '';
  let last = 0;
  for (const m of text.matchAll(REF)) {
    out += text.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === '$$') {
      out += '$';
      continue;
    }
    const ref = m[1] === undefined ? undefined : NAME.exec(m[1]);
    if (!ref) {
      return {
        ok: false,
        offset: m.index,
        message:
          m[1] === undefined
            ? 'unclosed ${ in an environment reference; write $$ for a literal $'
            : 'bad environment reference: expected ${NAME} or ${NAME:-default}; write $$ for a literal $',
      };
    }
    const [, name, fallback] = ref;
    vars.push(name);
    const value = env[name];
    if (fallback !== undefined && (value === undefined || value === '')) out += fallback;
    else if (value === undefined)
      return {
        ok: false,
        offset: m.index,
        message: `environment variable ${name} is not set; set it or give a default: \${${name}:-default}`,
      };
    else out += value;
  }
  return { ok: true, value: out + text.slice(last), vars };
}
