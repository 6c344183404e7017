// JWT bearer tokens checked with jose: signature against a JWKS (file or URL), issuer, audience, expiry.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import type { AuthSection } from '../config/schema.js';
import { AuthUnavailableError, UnauthenticatedError } from './errors.js';

type JwtConfig = NonNullable<AuthSection['jwt']>;

export interface VerifiedToken {
  subject: string;
  roles: string[];
}

function keySet(config: JwtConfig): JWTVerifyGetKey {
  if ('file' in config.jwks) {
    // Read once at start: a missing or malformed key file must stop the hub, not fail every request.
    const jwks = JSON.parse(readFileSync(config.jwks.file, 'utf8')) as JSONWebKeySet;
    return createLocalJWKSet(jwks);
  }
  return createRemoteJWKSet(new URL(config.jwks.url), { timeoutDuration: 3_000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
}

/** Failures that say nothing about the token, only that the key set could not be fetched or read. */
function isKeySetUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  // jose reports a non-200 key set response with its base class, and a network failure is not a JOSE error at all.
  return !(error instanceof errors.JOSEError) || error.constructor === errors.JOSEError;
}

function rolesOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/[\s,]+/).filter(Boolean);
  if (Array.isArray(claim)) return claim.filter((role): role is string => typeof role === 'string');
  return [];
}

export class JwtVerifier {
  private readonly keys: JWTVerifyGetKey;

  constructor(private readonly config: JwtConfig) {
    this.keys = keySet(config);
  }

  async verify(token: string): Promise<VerifiedToken> {
    try {
      const { payload } = await jwtVerify(token, this.keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: this.config.algorithms,
        clockTolerance: this.config.clockToleranceSec,
        // A token without an expiry would be valid forever once leaked.
        requiredClaims: ['sub', 'exp'],
      });
      return { subject: payload.sub!, roles: rolesOf(payload[this.config.rolesClaim]) };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new UnauthenticatedError('the token has expired');
      if (error instanceof errors.JWTClaimValidationFailed) throw new UnauthenticatedError(`the token's "${error.claim}" claim is not accepted`);
      if (isKeySetUnavailable(error)) throw new AuthUnavailableError('the key set to verify tokens is unavailable', { cause: error });
      throw new UnauthenticatedError('the token is not valid');
    }
  }
}
