// The names in a client certificate, read from its DER: the subject as an RFC 4514 string and
// the subjectAltName entries by type. Read from the bytes, never from Node's printed
// `subjectAltName`/`subject` strings, so a name cannot pose as another type or inject a field
// (the class of CVE-2021-44532/44533): each entry keeps the type its GeneralName tag gives.

export interface PeerNames {
  /** RFC 4514 (most specific RDN first, `\XX` for bytes outside printable ASCII), as `openssl -nameopt RFC2253`. */
  subject: string;
  dns: string[];
  uri: string[];
  email: string[];
}

interface Tlv {
  tag: number;
  /** Where the element (its tag) begins. */
  at: number;
  /** Where the contents start and end. */
  start: number;
  end: number;
}

/** One DER element at `pos`; throws on a length that runs past `limit`. */
function tlv(buf: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new Error('truncated DER');
  const tag = buf[pos] as number;
  let len = buf[pos + 1] as number;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  if (start + len > limit) throw new Error('DER length past its parent');
  return { tag, at: pos, start, end: start + len };
}

function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end; ) {
    const t = tlv(buf, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

function oid(buf: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i] as number;
    v = v * 128 + (b & 0x7f);
    if (b & 0x80) continue;
    if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
    else parts.push(v);
    v = 0;
  }
  return parts.join('.');
}

/** Short names as OpenSSL prints them (`-nameopt RFC2253`); others print as a dotted OID. */
const SHORT: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
};

/** The UTF-8 bytes of a directory string (UTF8, Printable, IA5, Teletex as latin1, BMP, Universal). */
function stringBytes(buf: Uint8Array, t: Tlv): Uint8Array | undefined {
  const raw = buf.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
      return raw;
    case 0x14: // TeletexString: read as latin1, as OpenSSL does
      return Buffer.from(Buffer.from(raw).toString('latin1'), 'utf8');
    case 0x1e: {
      // BMPString: UTF-16BE
      const le = Buffer.from(raw);
      le.swap16();
      return Buffer.from(le.toString('utf16le'), 'utf8');
    }
    default:
      return undefined;
  }
}

const HEX = (b: number): string => `\\${b.toString(16).toUpperCase().padStart(2, '0')}`;

/** One attribute value escaped per RFC 4514 §2.4, non-ASCII and control bytes as `\XX`. */
function escapeValue(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    const c = String.fromCharCode(b);
    if (b < 0x20 || b >= 0x7f) out += HEX(b);
    else if (',+"\\<>;'.includes(c)) out += `\\${c}`;
    else if ((i === 0 && (c === '#' || c === ' ')) || (i === bytes.length - 1 && c === ' '))
      out += `\\${c}`;
    else out += c;
  }
  return out;
}

function nameString(buf: Uint8Array, name: Tlv): string {
  const rdns = children(buf, name).map((set) =>
    children(buf, set)
      .map((atv) => {
        const [type, value] = children(buf, atv) as [Tlv, Tlv];
        const id = oid(buf, type);
        const bytes = stringBytes(buf, value);
        if (bytes === undefined) {
          // RFC 4514 §2.4: a value of another type is its DER in hex after '#'.
          return `${SHORT[id] ?? id}=#${Buffer.from(buf.subarray(value.at, value.end)).toString('hex')}`;
        }
        return `${SHORT[id] ?? id}=${escapeValue(bytes)}`;
      })
      .join('+'),
  );
  return rdns.reverse().join(',');
}

/** An IA5String SAN entry, or undefined when it holds bytes no DNS name, URI or address can. */
function ia5(buf: Uint8Array, t: Tlv): string | undefined {
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i] as number;
    if (b <= 0x20 || b >= 0x7f) return undefined;
  }
  return t.end > t.start ? Buffer.from(buf.subarray(t.start, t.end)).toString('latin1') : undefined;
}

const SAN_OID = '2.5.29.17';

/** The subject and SAN entries of a DER certificate; throws when the DER is malformed. */
export function peerNames(der: Uint8Array): PeerNames {
  const cert = tlv(der, 0, der.length);
  const [tbs] = children(der, cert) as [Tlv];
  const fields = children(der, tbs);
  const skip = fields[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  const subject = fields[skip + 4];
  if (subject?.tag !== 0x30) throw new Error('no subject');
  const out: PeerNames = { subject: nameString(der, subject), dns: [], uri: [], email: [] };
  const ext = fields.find((f) => f.tag === 0xa3);
  if (!ext) return out;
  const [list] = children(der, ext) as [Tlv];
  for (const e of children(der, list)) {
    const parts = children(der, e);
    if (parts.length < 2 || oid(der, parts[0] as Tlv) !== SAN_OID) continue;
    const octets = parts[parts.length - 1] as Tlv;
    const [names] = children(der, octets) as [Tlv];
    for (const gn of children(der, names)) {
      const v = ia5(der, gn);
      if (v === undefined) continue;
      if (gn.tag === 0x82) out.dns.push(v);
      else if (gn.tag === 0x86) out.uri.push(v);
      else if (gn.tag === 0x81) out.email.push(v);
    }
  }
  return out;
}
