// The admin token: read from admin.token_file, or made at start into <state_dir>/admin-token
// (0600). Presented only as `Authorization: Bearer TOKEN` and compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, PillionError } from '../core/errors.ts';

export interface AdminToken {
  token: string;
  /** Where it is kept, for a person or `pillion status` to read. */
  file: string;
  generated: boolean;
}

/** A token file's first line, or a new token written (0600, atomically) into the state dir. */
export function adminToken(tokenFile: string | undefined, stateDir: string): AdminToken {
  if (tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(tokenFile, 'utf8');
    } catch (err) {
      throw new PillionError(
        ErrorCode.ADMIN_TOKEN_UNREADABLE,
        `admin.token_file: cannot read ${tokenFile} (${(err as NodeJS.ErrnoException).code}); fix the path or remove the field to have a token generated`,
        { cause: err },
      );
    }
    const token = text.split('\n')[0].trim();
    if (token.length < 16)
      throw new PillionError(
        ErrorCode.ADMIN_TOKEN_UNREADABLE,
        `admin.token_file: ${tokenFile} holds no token of at least 16 characters on its first line`,
      );
    return { token, file: tokenFile, generated: false };
  }
  const token = randomBytes(32).toString('base64url');
  const file = join(stateDir, 'admin-token');
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, `${token}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  } catch (err) {
    throw new PillionError(
      ErrorCode.STATE_DIR_UNWRITABLE,
      `cannot write the admin token to ${file} (${(err as NodeJS.ErrnoException).code}); choose a writable state_dir or set admin.token_file`,
      { cause: err },
    );
  }
  return { token, file, generated: true };
}

/**
 * True when `given` equals `expected`, in time that does not depend on where they differ: both
 * are hashed first, so even their lengths are compared in constant time.
 */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer TOKEN` header exactly (one space, nothing after). */
export function bearerOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header);
  return m ? m[1] : undefined;
}
