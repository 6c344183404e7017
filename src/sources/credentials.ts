// What a source's declared auth adds to each request (headers, a query parameter, an OAuth2 bearer token), and whether the source accepts it.
import type { Logger } from 'pino';
import type { AuthConfig } from '../config/schema.js';
import { SourceAuthFailedError } from './errors.js';
import type { CallObserver } from './upstream-call.js';
import { OAuth2Token, type AccessToken } from './oauth2-token.js';

/** The credentials one request carries. Built once per token (static auth: once), so a request only picks them up. */
export interface AppliedCredentials {
  /** For requests without a body, and with a JSON body. */
  readonly headers: Record<string, string>;
  readonly jsonHeaders: Record<string, string>;
  /** An API key sent as a query parameter. */
  readonly queryParam?: readonly [name: string, value: string];
  /** The OAuth2 token these headers carry, to report a 401 against. */
  readonly token?: AccessToken;
}

const BASE_HEADERS = { accept: 'application/json' };

/** The headers a source's static auth adds to every request. */
export function authHeaders(auth: AuthConfig): Record<string, string> {
  switch (auth.type) {
    case 'none':
    case 'apiKeyQuery':
    case 'oauth2ClientCredentials':
      return {};
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'header':
      return { [auth.name.toLowerCase()]: auth.value };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }
}

/** A source's static `headers`, by lower-case name, so the auth's header of the same name replaces it. */
function lowerCased(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function applied(fixed: Record<string, string>, extra: Record<string, string>, rest: Partial<AppliedCredentials> = {}): AppliedCredentials {
  const headers = { ...BASE_HEADERS, ...fixed, ...extra };
  return { headers, jsonHeaders: { ...headers, 'content-type': 'application/json' }, ...rest };
}

export class SourceCredentials {
  /** Static auth's credentials, or the OAuth2 ones for the current token. */
  private cached: AppliedCredentials | undefined;
  readonly oauth2: OAuth2Token | undefined;

  /** The source's static `headers` (lower-cased), sent with every request under the auth's own. */
  private readonly fixed: Record<string, string>;

  constructor(source: string, auth: AuthConfig, options: { timeoutMs: number; now?: () => number; headers?: Record<string, string> }) {
    this.fixed = lowerCased(options.headers ?? {});
    if (auth.type === 'oauth2ClientCredentials') {
      this.oauth2 = new OAuth2Token(source, auth, options);
      return;
    }
    this.cached = applied(this.fixed, authHeaders(auth), auth.type === 'apiKeyQuery' ? { queryParam: [auth.param, auth.value] } : {});
  }

  /** Credentials usable now without waiting, or undefined when an OAuth2 token must be fetched first. */
  now(): AppliedCredentials | undefined {
    if (!this.oauth2) return this.cached;
    const token = this.oauth2.valid();
    if (!token) return undefined;
    if (this.cached?.token !== token) this.cached = applied(this.fixed, { authorization: `Bearer ${token.value}` }, { token });
    return this.cached;
  }

  /** Waits for a token (one fetch in flight, shared by every caller); token endpoint failures are typed SourceErrors. */
  async fetch(observe?: CallObserver): Promise<AppliedCredentials> {
    await this.oauth2!.get(observe);
    return this.now() ?? this.fetch(observe);
  }

  /** Whether a 401 may be cured by a fresh token: OAuth2 only, where tokens expire or are revoked early. */
  get refreshable(): boolean {
    return this.oauth2 !== undefined;
  }

  /** The source answered 401 to `used`: its token is dropped, so the retry gets a fresh one. */
  refused(used: AppliedCredentials): void {
    if (used.token) this.oauth2?.refused(used.token);
  }
}

export type AuthStatus = 'UNTESTED' | 'OK' | 'FAILED';

export interface AuthHealth {
  /** UNTESTED until the source has answered a request; FAILED while its last answer about credentials was a refusal. */
  auth: AuthStatus;
  /** Why the credentials were last refused (status, operation, OAuth2 error code: never a credential), and when. */
  authError: string | null;
  authErrorAt: string | null;
}

/** Whether a source accepts the hub's credentials, logged once per change: a warning when they start failing, info when they work again. */
export class AuthState {
  private status: AuthStatus = 'UNTESTED';
  private lastError: SourceAuthFailedError | undefined;
  private lastErrorAt: number | undefined;

  constructor(
    private readonly source: string,
    private readonly logger: Logger,
  ) {}

  accepted(): void {
    if (this.status === 'OK') return;
    if (this.status === 'FAILED') this.logger.info({ source: this.source, auth: 'OK' }, `source "${this.source}" accepts the hub's credentials again`);
    this.status = 'OK';
  }

  refused(error: SourceAuthFailedError): void {
    this.lastError = error;
    this.lastErrorAt = Date.now();
    if (this.status === 'FAILED') return;
    this.logger.warn({ source: this.source, auth: 'FAILED', detail: error.detail, status: error.status }, `source "${this.source}" refuses the hub's credentials: ${error.detail}`);
    this.status = 'FAILED';
  }

  health(): AuthHealth {
    return {
      auth: this.status,
      authError: this.lastError?.detail ?? null,
      authErrorAt: this.lastErrorAt === undefined ? null : new Date(this.lastErrorAt).toISOString(),
    };
  }
}
