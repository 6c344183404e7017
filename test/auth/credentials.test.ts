// The pure pieces of auth: permission matching, roles, API key hashes, masks, JWT verification and the config it reads.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ApiKeyVerifier, hashApiKey } from '../../src/auth/api-keys.js';
import { callerWithRoles, PermissionSet } from '../../src/auth/caller.js';
import { AuthUnavailableError, ForbiddenError, UnauthenticatedError } from '../../src/auth/errors.js';
import { JwtVerifier } from '../../src/auth/jwt.js';
import { maskEmail } from '../../src/auth/masks.js';
import { demoConfig } from '../../src/cli/demo-config.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { jsonNestsDeeperThan } from '../../src/server/limits.js';
import { AUDIENCE, createJwtIssuer, ISSUER, ROLES, type JwtIssuer } from './auth-fixture.js';

describe('permissions', () => {
  test.each([
    [['pii:email'], 'pii:email', true],
    [['pii:email'], 'pii:phone', false],
    [['pii:*'], 'pii:phone', true],
    [['pii:*'], 'piix:phone', false],
    [['pii:*'], 'audit:read', false],
    [['*'], 'audit:read', true],
    [[], 'pii:name', false],
  ])('%j grants %s: %s', (granted, permission, expected) => {
    expect(new PermissionSet(granted).has(permission)).toBe(expected);
  });

  test('a caller with several roles gets the union of their permissions, and is bound by consent only if every role is', () => {
    const both = callerWithRoles('jwt:ann', 'jwt', ['marketing', 'support'], ROLES);
    expect(both).toMatchObject({ roles: ['marketing', 'support'], consentRequired: false });
    expect(both.permissions.has('pii:phone')).toBe(true);
    expect(callerWithRoles('jwt:bo', 'jwt', ['marketing'], ROLES).consentRequired).toBe(true);
  });

  test('role names the config does not declare grant nothing; none known is FORBIDDEN', () => {
    expect(callerWithRoles('jwt:cy', 'jwt', ['analytics', 'root', 'constructor'], ROLES).roles).toEqual(['analytics']);
    expect(() => callerWithRoles('jwt:cy', 'jwt', ['root', '__proto__'], ROLES)).toThrow(ForbiddenError);
  });
});

describe('masks', () => {
  test.each([
    ['jane.doe@example.com', 'j***@example.com'],
    ['a@b.io', 'a***@b.io'],
    ['odd"local@part@example.org', 'o***@example.org'],
    ['not-an-email', null],
    ['@example.com', null],
    [null, null],
  ])('%j masks to %j', (value, masked) => {
    expect(maskEmail(value)).toBe(masked);
  });
});

describe('API keys', () => {
  const verifier = new ApiKeyVerifier([
    { name: 'one', sha256: hashApiKey('key-one'), roles: ['support'] },
    { name: 'two', sha256: hashApiKey('key-two'), roles: ['analytics'] },
  ]);

  test('are matched by hash, and nothing else matches', () => {
    expect(verifier.verify('key-two')?.name).toBe('two');
    expect(verifier.verify('key-one')?.name).toBe('one');
    expect(verifier.verify('key-one ')).toBeNull();
    expect(verifier.verify(hashApiKey('key-one'))).toBeNull();
    expect(verifier.verify('')).toBeNull();
  });

  test('hashes are the SHA-256 hex that `sha256sum` prints', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('JWT with a JWKS from a URL', () => {
  let issuer: JwtIssuer;
  let jwksServer: Server;
  let jwksUrl: string;
  let jwksRequests = 0;

  beforeAll(async () => {
    issuer = await createJwtIssuer();
    const jwks = readFileSync(issuer.jwksFile, 'utf8');
    jwksServer = createServer((_request, response) => {
      jwksRequests += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    });
    await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
  });
  afterAll(() => new Promise<void>((resolve) => jwksServer.close(() => resolve())));

  const verifierFor = (url: string) => new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, jwks: { url }, algorithms: ['RS256'], rolesClaim: 'roles', clockToleranceSec: 0 });

  test('fetches the key set once and verifies tokens against it', async () => {
    const verifier = verifierFor(jwksUrl);
    expect(await verifier.verify(await issuer.sign({ sub: 'ann', roles: ['support', 'admin'] }))).toEqual({ subject: 'ann', roles: ['support', 'admin'] });
    expect(await verifier.verify(await issuer.sign({ sub: 'bo', roles: 'analytics' }))).toEqual({ subject: 'bo', roles: ['analytics'] });
    expect(jwksRequests).toBe(1);
    await expect(verifier.verify(await issuer.sign({}, { key: issuer.foreignKey }))).rejects.toThrow(UnauthenticatedError);
  });

  test('a key set that cannot be fetched is AUTH_UNAVAILABLE (503), not a verdict on the token', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await verifierFor(`http://127.0.0.1:${port}/jwks.json`).verify(await issuer.sign()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthUnavailableError);
    expect(error).toMatchObject({ code: 'AUTH_UNAVAILABLE', status: 503 });
  });
});

describe('auth config', () => {
  const base = demoConfig({ crm: 'http://127.0.0.1:1', shop: 'http://127.0.0.1:2', support: 'http://127.0.0.1:3', marketing: 'http://127.0.0.1:4', analytics: 'http://127.0.0.1:5' }, { PORT: '0', LINK_DB: ':memory:' });
  const problems = (auth: unknown) => {
    try {
      parseConfig({ ...base, auth }, {});
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  test.each([
    ['an API key naming an undeclared role', { roles: { support: {} }, apiKeys: [{ name: 'k', sha256: hashApiKey('k'), roles: ['suport'] }] }, { path: 'auth.apiKeys[0].roles[0]', message: 'no role "suport"' }],
    ['a key stored in clear instead of its hash', { roles: { support: {} }, apiKeys: [{ name: 'k', sha256: 'my-secret-key', roles: ['support'] }] }, { path: 'auth.apiKeys[0].sha256', message: 'the lower-case hex SHA-256 of the key' }],
    ['neither API keys nor JWT', { roles: { support: {} } }, { path: 'auth', message: 'auth needs apiKeys or jwt: with neither, no caller could get in' }],
    ['a JWKS over plain http to another host', { roles: { a: {} }, jwt: { issuer: 'i', audience: 'a', jwks: { url: 'http://idp.example.com/jwks' } } }, { path: 'auth.jwt.jwks.url', message: 'a JWKS URL must be https (plain http only on loopback)' }],
    ['a symmetric JWT algorithm', { roles: { a: {} }, jwt: { issuer: 'i', audience: 'a', jwks: { file: 'x' }, algorithms: ['HS256'] } }, { path: 'auth.jwt.algorithms[0]', message: expect.stringContaining('RS256') }],
    ['a malformed permission', { roles: { a: { permissions: ['pii:*:x'] } }, apiKeys: [{ name: 'k', sha256: hashApiKey('k'), roles: ['a'] }] }, { path: 'auth.roles.a.permissions[0]', message: 'permissions look like "pii:email", "pii:*" or "*"' }],
  ])('%s is a config error at its key', (_case, auth, problem) => {
    expect(problems(auth)).toEqual([problem]);
  });

  test('config/auth-example.yaml, merged into the demo config, is valid', () => {
    const example = parseYaml(readFileSync('config/auth-example.yaml', 'utf8')) as Record<string, unknown>;
    const config = parseConfig({ ...base, ...example }, { SUPPORT_DESK_KEY_SHA256: hashApiKey('a'), BI_EXPORT_KEY_SHA256: hashApiKey('b') });
    expect(Object.keys(config.auth!.roles)).toEqual(['support', 'marketing', 'analytics', 'admin']);
    expect(config.mode).toBe('production');
    expect(config.auth!.audit.retentionDays).toBe(90);
  });

  test('without auth or limits, the config keeps the open demo and default limits', () => {
    expect(base.auth).toBeUndefined();
    expect(base.limits).toEqual({ maxDepth: 10, maxCost: 1_000_000, maxAliases: 15, maxDirectives: 20, maxRepeatedFields: 25, maxTokens: 2000, maxBodyBytes: 1024 * 1024, maxUpstreamCalls: 1_000 });
  });
});

describe('JSON nesting scan', () => {
  test.each([
    ['{"a":[1,2]}', 2, false],
    ['{"a":[[1]]}', 2, true],
    ['{"a":"[[[[[[["}', 1, false],
    ['{"a":"\\"[[[["}', 1, false],
    ['[[]]', 2, false],
  ])('%s deeper than %i: %s', (text, max, expected) => {
    expect(jsonNestsDeeperThan(text, max)).toBe(expected);
  });
});
