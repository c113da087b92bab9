/**
 * Why an app's response head cannot be passed on, or undefined when it can. llhttp (strict)
 * already refuses CL with TE, duplicate or invalid lengths, bare LF and control bytes; these
 * are the cases it reads leniently for a response (RFC 9112 §6.3 item 4 would read to the
 * close), which a proxy must not. `raw` is the flat [name, value, ...] list.
 */
export function checkResponseFields(raw: string[]): string | undefined {
  let te = 0;
  let value = '';
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === 17 && n.toLowerCase() === 'transfer-encoding') {
      te++;
      value = raw[i + 1] as string;
    }
  }
  if (te > 1) return 'duplicate Transfer-Encoding';
  if (te === 1 && value.trim().toLowerCase() !== 'chunked') return 'unknown Transfer-Encoding';
  return undefined;
}
