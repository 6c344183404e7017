// Credentials for auth tests: one API key per role, and a JWT issuer whose public keys sit in a JWKS file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { hashApiKey } from '../../src/auth/api-keys.js';
import type { HubConfig, HubConfigInput, RoleConfig } from '../../src/config/schema.js';

export const ROLE_NAMES = ['support', 'marketing', 'analytics', 'admin'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** The keys callers present; the config holds only their hashes. */
export const API_KEYS: Record<RoleName, string> = {
  support: 'rk_test_support_9f3c1e0a7b5d4c2e8f6a',
  marketing: 'rk_test_marketing_2b7d9e1f3a5c6b8d0e4f',
  analytics: 'rk_test_analytics_5e8a1c3f7b9d2e4a6c0b',
  admin: 'rk_test_admin_8c1f4a7e2d5b9c3f6a0e',
};

export const ROLES: Record<RoleName, RoleConfig> = {
  support: { permissions: ['pii:*'], consentRequired: false },
  marketing: { permissions: ['pii:name', 'pii:email'], consentRequired: true },
  analytics: { permissions: [], consentRequired: false },
  admin: { permissions: ['*'], consentRequired: false },
};

export const ISSUER = 'https://id.rosetta.test';
export const AUDIENCE = 'rosetta-hub';

export const keyHeader = (role: RoleName): Record<string, string> => ({ 'x-api-key': API_KEYS[role] });
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export interface JwtIssuer {
  jwksFile: string;
  /** A token signed with the published key; `claims` override the defaults (sub, roles, iss, aud, exp in 5 minutes). */
  sign(claims?: JWTPayload, options?: { key?: CryptoKey; kid?: string; omitExp?: boolean }): Promise<string>;
  /** A key pair that is not in the JWKS, for wrongly signed tokens. */
  foreignKey: CryptoKey;
}

export async function createJwtIssuer(): Promise<JwtIssuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
  const jwksFile = join(mkdtempSync(join(tmpdir(), 'rosetta-jwks-')), 'jwks.json');
  writeFileSync(jwksFile, JSON.stringify({ keys: [jwk] }));
  return {
    jwksFile,
    foreignKey: foreign.privateKey,
    async sign(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { sub: 'user-1', roles: ['support'], iss: ISSUER, aud: AUDIENCE, iat: now, ...(options.omitExp ? {} : { exp: now + 300 }), ...claims };
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: options.kid ?? 'test-key-1' }).sign(options.key ?? privateKey);
    },
  };
}

/** The auth section these tests run with: the four roles, a key per role, and JWTs from `issuer`. */
export function authSection(issuer: JwtIssuer | null, extra: Partial<NonNullable<HubConfigInput['auth']>> = {}): NonNullable<HubConfigInput['auth']> {
  return {
    roles: ROLES,
    apiKeys: ROLE_NAMES.map((role) => ({ name: `${role}-key`, sha256: hashApiKey(API_KEYS[role]), roles: [role] })),
    ...(issuer ? { jwt: { issuer: ISSUER, audience: AUDIENCE, jwks: { file: issuer.jwksFile }, clockToleranceSec: 0 } } : {}),
    ...extra,
  };
}

/** A config override for `startTestHub` that turns auth on. */
export const withAuth =
  (issuer: JwtIssuer | null, more: Partial<HubConfigInput> = {}) =>
  (config: HubConfig): HubConfigInput => ({ ...config, auth: authSection(issuer), ...more });
