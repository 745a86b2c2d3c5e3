import type { Authenticator } from '../http/auth-hook.js';
import type { ServerContext } from '../server-context.js';
import { firebaseJwtConfig, jwtAuthenticator } from './jwt-auth.js';
import { sharedKeyAuthenticator } from './shared-key.js';

/** Credentials besides device and admin tokens, in the order they are tried. */
export function externalAuthenticators(ctx: ServerContext): Authenticator[] {
  const out: Authenticator[] = [];
  const shared = sharedKeyAuthenticator(
    ctx.config.apiSecretKey,
    ctx.config.apiSecretKeyStore,
    ctx.logger,
  );
  if (shared) out.push(shared);
  const c = ctx.config;
  const claims = {
    storeClaim: c.jwtStoreClaim,
    roleClaim: c.jwtRoleClaim,
    machineClaim: c.jwtMachineClaim,
    stores: c.jwtStores,
    adminRole: c.jwtAdminRole,
  };
  if (c.jwtJwksUrl)
    out.push(
      jwtAuthenticator({
        ...claims,
        jwksUrl: c.jwtJwksUrl,
        issuer: c.jwtIssuer,
        audience: c.jwtAudience,
      }),
    );
  else if (c.firebaseProjectId)
    out.push(jwtAuthenticator(firebaseJwtConfig(c.firebaseProjectId, claims)));
  return out;
}
