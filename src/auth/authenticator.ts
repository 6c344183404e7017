// Turns a request's credentials (an `x-api-key` header or an `Authorization: Bearer` JWT) into a Caller.
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthSection } from '../config/schema.js';
import { ApiKeyVerifier } from './api-keys.js';
import { callerWithRoles, OPEN_CALLER, type Caller } from './caller.js';
import { UnauthenticatedError } from './errors.js';
import { JwtVerifier } from './jwt.js';

/** Resolves to the caller, or rejects with an AuthError (401, 403 or 503). */
export type Authenticator = (headers: IncomingHttpHeaders) => Promise<Caller>;

const BEARER = /^Bearer +([\w.~+/-]+=*)$/i;

export function createAuthenticator(auth: AuthSection | undefined): Authenticator {
  if (!auth) return async () => OPEN_CALLER;
  const apiKeys = new ApiKeyVerifier(auth.apiKeys);
  const jwt = auth.jwt ? new JwtVerifier(auth.jwt) : null;

  return async (headers) => {
    const authorization = headers.authorization;
    const apiKey = headers['x-api-key'];
    if (authorization !== undefined && apiKey !== undefined) throw new UnauthenticatedError('send either an API key or a bearer token, not both');
    if (typeof apiKey === 'string' && apiKey !== '') {
      const key = apiKeys.verify(apiKey);
      if (!key) throw new UnauthenticatedError('the API key is not valid');
      return callerWithRoles(`api-key:${key.name}`, 'api-key', key.roles, auth.roles);
    }
    if (authorization !== undefined) {
      if (!jwt) throw new UnauthenticatedError('this hub accepts API keys only (x-api-key), not Authorization headers');
      const token = BEARER.exec(authorization)?.[1];
      if (!token) throw new UnauthenticatedError('the Authorization header must be "Bearer <JWT>"');
      const verified = await jwt.verify(token);
      return callerWithRoles(`jwt:${verified.subject}`, 'jwt', verified.roles, auth.roles);
    }
    throw new UnauthenticatedError('credentials are required: an x-api-key header or an Authorization: Bearer token');
  };
}
