// Simulated Auth0 Management API v2 (users) after auth0.com/docs/api/management/v2: OAuth2 client-credentials tokens that expire, page/per_page with totals.
import type { IncomingHttpHeaders } from 'node:http';
import { Reply } from '../http-app.js';
import { idFrom, isoSeconds, type VendorData, type VendorPerson } from './people.js';
import { VendorApp, bearerToken, intParam, rateLimitGuard, vendorError, type VendorOptions } from './vendor-app.js';

export const AUTH0_TEST_CLIENT_ID = 'rOsEtTaSiMcLiEnTiD0123456789abcd';
export const AUTH0_TEST_CLIENT_SECRET = 'sim-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ROSETTA';
const AUTH0_PER_PAGE_MAX = 100;
/** Auth0 pages through at most the first 1,000 users of a query. */
const AUTH0_PAGING_WINDOW = 1000;

export interface Auth0Options extends VendorOptions {
  clientId?: string;
  clientSecret?: string;
  /** Lifetime of issued tokens (default 86,400 s, Auth0's default for Management API tokens). */
  tokenTtlSeconds?: number;
}

const managementError = (status: number, error: string, message: string, errorCode?: string, headers: Record<string, string> = {}) =>
  vendorError(status, { statusCode: status, error, message, ...(errorCode ? { errorCode } : {}), ...(status === 401 ? { attributes: { error: message } } : {}) }, headers);
const badRequest = (message: string) => managementError(400, 'Bad Request', message, 'invalid_query_string');

function userOf(holder: VendorPerson) {
  const { person } = holder;
  const id = `auth0|${holder.createdAt.toString(16)}${idFrom(holder.index, 9, 16, '0123456789abcdef')}`;
  const email = holder.email?.trim().toLowerCase() ?? null;
  return {
    user_id: id,
    // Database connections store addresses lower-cased; phone numbers come from the SMS connection in E.164.
    email,
    email_verified: email !== null && holder.index % 3 !== 0,
    ...(holder.phone !== null ? { phone_number: holder.phone, phone_verified: true } : {}),
    name: `${person.firstName} ${person.lastName}`,
    given_name: person.firstName,
    family_name: person.lastName,
    nickname: (email ?? person.firstName).split('@')[0]!,
    picture: `https://s.gravatar.com/avatar/${idFrom(holder.index, 13, 32, '0123456789abcdef')}?s=480&r=pg&d=mp`,
    created_at: isoSeconds(holder.createdAt).replace('Z', '.000Z'),
    updated_at: isoSeconds(holder.updatedAt).replace('Z', '.000Z'),
    last_login: isoSeconds(holder.updatedAt).replace('Z', '.000Z'),
    logins_count: 1 + (holder.index % 40),
    identities: [{ connection: email !== null ? 'Username-Password-Authentication' : 'sms', provider: email !== null ? 'auth0' : 'sms', user_id: id.split('|')[1]!, isSocial: false }],
    app_metadata: {},
    user_metadata: {},
  };
}

type Auth0User = ReturnType<typeof userOf>;

/** The two Lucene forms the `q` parameter is used with here: `user_id:("a" OR "b")` and `email:"x"`. */
function queryUsers(users: readonly Auth0User[], q: string): Auth0User[] {
  const match = /^(user_id|email)\s*:\s*(?:\((.*)\)|(.*))$/.exec(q.trim());
  if (!match) throw badRequest(`Query validation error: unsupported query "${q}"`);
  const field = match[1] as 'user_id' | 'email';
  const values = (match[2] ?? match[3]!).split(/\s+OR\s+/).map((v) => v.trim().replace(/^"|"$/g, ''));
  return users.filter((u) => values.some((v) => (field === 'email' ? u.email === v.toLowerCase() : u.user_id === v)));
}

interface IssuedToken {
  expiresAt: number;
}

export function createAuth0Server(data: VendorData, options: Auth0Options = {}): VendorApp {
  const clientId = options.clientId ?? AUTH0_TEST_CLIENT_ID;
  const clientSecret = options.clientSecret ?? AUTH0_TEST_CLIENT_SECRET;
  const ttl = options.tokenTtlSeconds ?? 86_400;
  const now = options.now ?? Date.now;
  const holders = data.holders.auth0;
  const users = holders.map(userOf);
  const byId = new Map(users.map((u) => [u.user_id, u]));
  const tokens = new Map<string, IssuedToken>();

  const authenticate = (headers: IncomingHttpHeaders) => {
    const token = bearerToken(headers);
    if (token === undefined) throw managementError(401, 'Unauthorized', 'Missing authentication');
    const issued = tokens.get(token);
    if (!issued) throw managementError(401, 'Unauthorized', 'Invalid token');
    if (now() >= issued.expiresAt) throw managementError(401, 'Unauthorized', 'Expired token received for JSON Web Token validation');
  };

  const app = new VendorApp('auth0', options, users.map((u, i) => ({ id: u.user_id, personId: holders[i]!.person.personId })), (url) => ({ AUTH0_URL: url, AUTH0_CLIENT_ID: clientId, AUTH0_CLIENT_SECRET: clientSecret, AUTH0_AUDIENCE: `${url}/api/v2/` }));
  return app
    .guard(({ route, headers }) => {
      if (route !== 'POST /oauth/token') authenticate(headers);
    })
    .guard(
      rateLimitGuard(options, (waitMs, { limit }) =>
        managementError(429, 'Too Many Requests', 'Global limit has been reached', 'too_many_requests', {
          'x-ratelimit-limit': String(limit.kind === 'window' ? limit.max : limit.capacity),
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset': String(Math.ceil((now() + waitMs) / 1000)),
        }),
      ),
    )
    .post('/oauth/token', ({ body, headers, baseUrl }) => {
      const form = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      // Client credentials come in the body or as HTTP basic auth (RFC 6749 §2.3.1).
      const basic = /^Basic\s+(\S+)$/i.exec(headers.authorization ?? '');
      const [basicId, basicSecret] = basic ? Buffer.from(basic[1]!, 'base64').toString('utf8').split(':').map(decodeURIComponent) : [];
      const id = form.client_id ?? basicId;
      const secret = form.client_secret ?? basicSecret;
      if (form.grant_type !== 'client_credentials') return new Reply(400, { error: 'unsupported_grant_type', error_description: `Unsupported grant type: ${String(form.grant_type)}` });
      if (id !== clientId || secret !== clientSecret) return new Reply(401, { error: 'access_denied', error_description: 'Unauthorized' });
      const audience = `${baseUrl}/api/v2/`;
      if (form.audience !== undefined && form.audience !== audience) return new Reply(403, { error: 'access_denied', error_description: `Service not enabled within domain: ${String(form.audience)}` });
      const token = `eyJhbGciOiJSUzI1NiJ9.sim.${tokens.size + 1}.${idFrom(tokens.size, 41, 24)}`;
      tokens.set(token, { expiresAt: now() + ttl * 1000 });
      return { access_token: token, scope: 'read:users', expires_in: ttl, token_type: 'Bearer' };
    })
    .get('/api/v2/users', ({ query }) => {
      const page = intParam(query.get('page'), 0, 0, AUTH0_PAGING_WINDOW, (m) => badRequest(`Query validation error: page ${m}`));
      const perPage = intParam(query.get('per_page'), 50, 1, AUTH0_PER_PAGE_MAX, (m) => badRequest(`Query validation error: per_page ${m}`));
      if ((page + 1) * perPage > AUTH0_PAGING_WINDOW + perPage) throw badRequest('You can only page through the first 1000 records. See https://auth0.com/docs/users/search/v3/view-search-results-by-page#limitation');
      const q = query.get('q');
      const selected = q === null ? users : queryUsers(users, q);
      const slice = selected.slice(page * perPage, (page + 1) * perPage);
      if (query.get('include_totals') !== 'true') return slice;
      return { start: page * perPage, limit: perPage, length: slice.length, total: selected.length, users: slice };
    })
    .get('/api/v2/users/:id', ({ params }) => {
      const user = byId.get(params.id);
      if (!user) throw managementError(404, 'Not Found', 'The user does not exist.', 'inexistent_user');
      return user;
    })
    .get('/api/v2/users-by-email', ({ query }) => {
      const email = query.get('email');
      if (email === null) throw badRequest('Query validation error: email is required');
      // Documented as case-sensitive; stored addresses are lower-case.
      return users.filter((u) => u.email === email);
    });
}
