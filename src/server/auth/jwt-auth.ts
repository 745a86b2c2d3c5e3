import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';
import { SyncError } from '../../protocol/index.js';
import type { Authenticator } from '../http/auth-hook.js';
import type { Identity } from './identity.js';
import { hashToken } from './token.js';

/** Where a store's own identity provider publishes its keys and what its tokens claim. */
export type JwtAuthConfig = {
  jwksUrl: string;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Claim naming the store (default `store_id`). */
  storeClaim: string;
  /** Claim naming the role (default `role`). */
  roleClaim: string;
  /** Claim naming the machine (default `sub`). */
  machineClaim: string;
  /** The stores tokens may name; `*` for any. */
  stores: string[];
  /** The role value that makes a token an admin (unset: JWTs are never admin). */
  adminRole?: string | undefined;
};

/** Firebase ID tokens: the project's issuer and audience, Google's published keys. */
export function firebaseJwtConfig(
  projectId: string,
  rest: Omit<JwtAuthConfig, 'jwksUrl' | 'issuer' | 'audience'>,
): JwtAuthConfig {
  return {
    ...rest,
    jwksUrl:
      'https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com',
    issuer: `https://securetoken.google.com/${projectId}`,
    audience: projectId,
  };
}

const jwtShape = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const storePattern = /^[A-Za-z0-9_.-]{1,64}$/;
const machinePattern = /^[A-Za-z0-9_.:@|-]{1,128}$/;

function claimText(payload: JWTPayload, claim: string): string | null {
  const value = payload[claim];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  return null;
}

/**
 * `Authorization: Bearer <JWT>` from the store's identity provider (any OIDC issuer), verified
 * with jose against the provider's JWKS (signature, expiry, issuer, audience). The claims
 * the config names give the store, the role and the machine. A token that does not verify is
 * not ours (401); a verified token naming a store outside the configured ones is 403.
 */
export function jwtAuthenticator(config: JwtAuthConfig): Authenticator {
  const keys = createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000 });
  return async (token) => {
    if (!jwtShape.test(token)) return null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        ...(config.issuer ? { issuer: config.issuer } : {}),
        ...(config.audience ? { audience: config.audience } : {}),
      }));
    } catch (err) {
      // An unreachable key server is ours to report, not the caller's fault.
      if (err instanceof joseErrors.JWKSTimeout)
        throw new SyncError(
          'DATABASE_UNAVAILABLE',
          'the identity provider keys could not be fetched',
        );
      return null;
    }
    const role = claimText(payload, config.roleClaim);
    const machine = claimText(payload, config.machineClaim);
    if (!machine || !machinePattern.test(machine))
      throw new SyncError(
        'FORBIDDEN',
        `the token's ${config.machineClaim} claim names no valid machine`,
      );
    if (config.adminRole !== undefined && role === config.adminRole) {
      const admin: Identity = {
        role: 'admin',
        machineId: machine,
        storeId: null,
        tokenHash: hashToken(token),
      };
      return admin;
    }
    const store = claimText(payload, config.storeClaim);
    if (!store || !storePattern.test(store))
      throw new SyncError('FORBIDDEN', `the token's ${config.storeClaim} claim names no store`);
    if (!config.stores.includes('*') && !config.stores.includes(store))
      throw new SyncError('FORBIDDEN', `store ${store} is not one this server accepts tokens for`);
    const device: Identity = {
      role: 'device',
      machineId: machine,
      storeId: store,
      tokenHash: hashToken(token),
      via: 'jwt',
    };
    return device;
  };
}
