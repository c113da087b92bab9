// What is served and until when: for monitoring (seconds to expiry, the metrics concern reads
// it) and for a warning in the log 30 days ahead, at start, at each reload and twice a day.

import { ErrorCode } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import type { LoadedPair, TlsMaterial } from './material.ts';

/** One certificate in force. */
export interface ServedCertificate {
  /** The first name it is served for (its subject when it lists none). */
  name: string;
  names: string[];
  subject: string;
  issuer: string;
  /** ISO 8601. */
  notAfter: string;
  secondsToExpiry: number;
  fingerprint256: string;
  serialNumber: string;
  file: string;
  /** Served when no SNI name matches. */
  default: boolean;
}

/** A certificate expiring within this is warned about. */
export const EXPIRY_WARNING_MS = 30 * 24 * 3600 * 1000;

export function servedCertificates(m: TlsMaterial, now = Date.now()): ServedCertificate[] {
  const all = [...m.defaults, ...m.pairs.filter((p) => !m.defaults.includes(p))];
  return all.map((p: LoadedPair) => {
    const notAfter = Date.parse(p.leaf.validTo);
    return {
      name: p.names[0] ?? p.leaf.subject.replace(/\n/g, ', '),
      names: p.names,
      subject: p.leaf.subject.replace(/\n/g, ', '),
      issuer: p.leaf.issuer.replace(/\n/g, ', '),
      notAfter: new Date(notAfter).toISOString(),
      secondsToExpiry: Math.floor((notAfter - now) / 1000),
      fingerprint256: p.leaf.fingerprint256,
      serialNumber: p.leaf.serialNumber,
      file: p.certFile,
      default: m.defaults.includes(p),
    };
  });
}

/** Logs one warning per certificate that expires within 30 days (or has expired). */
export function warnExpiring(m: TlsMaterial, log: Logger, now = Date.now()): void {
  for (const c of servedCertificates(m, now)) {
    if (c.secondsToExpiry * 1000 > EXPIRY_WARNING_MS) continue;
    log.warn(c.secondsToExpiry <= 0 ? 'certificate has expired' : 'certificate expires soon', {
      code: ErrorCode.TLS_CERT_EXPIRING,
      file: c.file,
      subject: c.subject,
      not_after: c.notAfter,
      seconds_to_expiry: c.secondsToExpiry,
      days_to_expiry: Math.floor(c.secondsToExpiry / 86400),
    });
  }
}
