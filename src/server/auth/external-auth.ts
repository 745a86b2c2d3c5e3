import type { Authenticator } from '../http/auth-hook.js';
import type { ServerContext } from '../server-context.js';
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
  return out;
}
