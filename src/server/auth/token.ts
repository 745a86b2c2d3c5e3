import { createHash, randomBytes } from 'node:crypto';

/** Tokens carry 256 random bits, so a fast hash is enough to store them safely. */
export function newToken(prefix: 'pdvs_adm' | 'pdvs_dev' | 'pdvs_mgr'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
