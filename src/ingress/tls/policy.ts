// The TLS policy: protocol versions, cipher suites and key exchange groups, from a named
// Mozilla profile (https://wiki.mozilla.org/Security/Server_Side_TLS, version 5.7) and the
// operator's overrides. Forward secrecy and AEAD only; no finite-field Diffie-Hellman.
import { constants as cryptoConstants } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ErrorCode, PillionError } from '../../core/errors.ts';

/** What the policy is made from: `ingress.tls` resolved (config/settings.ts). */
export interface PolicySettings {
  profile: 'intermediate' | 'modern';
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
  groups?: readonly string[];
  sessionTickets: boolean;
  ticketKeyRotationMs: number;
}

/** TLS 1.3's suites are all AEAD with forward secrecy; always offered, in Mozilla's order. */
const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

/**
 * Mozilla's intermediate TLS 1.2 list without its DHE suites: those need a finite-field group
 * (ffdhe2048, 112-bit security), which Pillion does not offer. ECDHE only, GCM or ChaCha20.
 */
const INTERMEDIATE_TLS12 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const PROFILES = {
  intermediate: { minVersion: 'TLSv1.2', ciphers: INTERMEDIATE_TLS12 },
  modern: { minVersion: 'TLSv1.3', ciphers: INTERMEDIATE_TLS12 },
} as const;

/** Mozilla's groups, with the hybrid post-quantum X25519MLKEM768 first where OpenSSL has it. */
const CLASSIC_GROUPS = ['X25519', 'P-256', 'P-384'];
let hybrid: boolean | undefined;

/** True when this Node's OpenSSL offers X25519MLKEM768 (OpenSSL 3.5 and later: Node 24). */
export function hasHybridGroup(): boolean {
  if (hybrid === undefined) {
    try {
      createSecureContext({ ecdhCurve: 'X25519MLKEM768' });
      hybrid = true;
    } catch {
      hybrid = false;
    }
  }
  return hybrid;
}

export function defaultGroups(): string[] {
  return hasHybridGroup() ? ['X25519MLKEM768', ...CLASSIC_GROUPS] : [...CLASSIC_GROUPS];
}

/** The policy part of every secure context Pillion makes (certificates come separately). */
export function policyOptions(s: PolicySettings): SecureContextOptions {
  const profile = PROFILES[s.profile];
  const groups = s.groups ?? defaultGroups();
  return {
    minVersion: s.minVersion ?? profile.minVersion,
    maxVersion: 'TLSv1.3',
    ciphers: `${TLS13_SUITES}:${s.ciphers ?? profile.ciphers}`,
    ecdhCurve: groups.join(':'),
    // The server's order: its list puts AEAD with ECDSA first; a client cannot pick a weaker one
    // of those it offers.
    honorCipherOrder: true,
    // Client-initiated renegotiation (TLS 1.2) is refused by OpenSSL with a no_renegotiation
    // alert, rather than counted by Node (three are accepted there before the connection ends).
    secureOptions:
      cryptoConstants.SSL_OP_NO_RENEGOTIATION |
      (s.sessionTickets ? 0 : cryptoConstants.SSL_OP_NO_TICKET),
    // A session lives no longer than its ticket key.
    sessionTimeout: Math.max(1, Math.floor(s.ticketKeyRotationMs / 1000)),
  };
}

/** The policy field OpenSSL refuses, and why; undefined when it takes the policy. */
export function policyFault(
  s: PolicySettings,
): { field: 'ciphers' | 'groups'; reason: string } | undefined {
  const refused = (x: PolicySettings): string | undefined => {
    try {
      createSecureContext(policyOptions(x));
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };
  const reason = refused(s);
  if (reason === undefined) return undefined;
  // Each of the operator's lists tried alone against the profile's: the one OpenSSL still
  // refuses is named (the ciphers first when both are).
  const { ciphers, groups, ...rest } = s;
  if (ciphers !== undefined && refused({ ...rest, ciphers }) !== undefined)
    return { field: 'ciphers', reason };
  if (groups !== undefined && refused({ ...rest, groups }) !== undefined)
    return { field: 'groups', reason };
  return { field: ciphers !== undefined ? 'ciphers' : 'groups', reason };
}

/**
 * Throws a PILLION_TLS_POLICY_INVALID when OpenSSL refuses the policy (an unknown cipher, a
 * group this OpenSSL lacks), naming the field; `at` puts its place (`file:line:col`) in front.
 */
export function checkPolicy(s: PolicySettings, at?: (field: string) => string | undefined): void {
  const fault = policyFault(s);
  if (!fault) return;
  const field = `ingress.tls.${fault.field}`;
  const where = at?.(fault.field);
  const value = fault.field === 'ciphers' ? s.ciphers : s.groups?.join(', ');
  throw new PillionError(
    ErrorCode.TLS_POLICY_INVALID,
    `${where ? `${where}: ` : ''}${field}: OpenSSL refuses ${JSON.stringify(value)} (${fault.reason}); fix the list, or delete the key for the profile's own (docs/tls.md)`,
  );
}
