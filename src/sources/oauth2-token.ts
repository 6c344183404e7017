// An OAuth2 client-credentials token (RFC 6749 §4.4) for one source: fetched when needed, cached until shortly before it expires, one fetch at a time.
import { request } from 'undici';
import type { OAuth2ClientCredentialsConfig } from '../config/schema.js';
import { ErrorCode } from '../errors/catalogue.js';
import { SourceAuthFailedError, SourceBadResponseError, SourceError, SourceUnavailableError } from './errors.js';
import type { CallObserver } from './upstream-call.js';

export interface AccessToken {
  readonly value: string;
  /** Epoch ms after which the token is not used again (its `expires_in`, less the refresh margin); Infinity without one. */
  readonly refreshAt: number;
}

export interface OAuth2TokenOptions {
  /** Bounds one token request, connect to last byte: the source's `timeoutMs`. */
  timeoutMs: number;
  now?: () => number;
}

/** Error responses (RFC 6749 §5.2) that say the client or its grant is refused: sending the same request again cannot help. */
const REFUSALS = new Set(['invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope', 'invalid_request']);

/** `error` from a token endpoint's JSON error body, if it has one (a short ASCII code: safe to log and show). */
function oauthErrorCode(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: unknown };
    return typeof body.error === 'string' && /^[\x20-\x7e]{1,64}$/.test(body.error) ? body.error : undefined;
  } catch {
    // Not JSON (an HTML error page, say): the status alone is reported.
    return undefined;
  }
}

export class OAuth2Token {
  private current: AccessToken | undefined;
  /** The one fetch in flight, which every caller that finds no valid token waits for. */
  private fetching: Promise<AccessToken> | undefined;
  private readonly now: () => number;
  /** Token requests sent since start. */
  fetches = 0;

  constructor(
    readonly source: string,
    private readonly config: OAuth2ClientCredentialsConfig,
    private readonly options: OAuth2TokenOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The cached token if it is still good for a while, without waiting. */
  valid(): AccessToken | undefined {
    const token = this.current;
    return token && this.now() < token.refreshAt ? token : undefined;
  }

  /**
   * A token good for a while: the cached one, or the one fetch in flight, started if none is. The fetch is reported
   * (as `oauth2.token`, to explain and metrics) to the observer of the call that started it.
   */
  get(observe?: CallObserver): Promise<AccessToken> {
    const token = this.valid();
    if (token) return Promise.resolve(token);
    if (!this.fetching) {
      this.fetching = this.fetch(observe).finally(() => {
        this.fetching = undefined;
      });
    }
    return this.fetching;
  }

  /** The source refused `token` (a 401): it is not used again; the next `get` fetches a new one, once, however many callers saw the 401. */
  refused(token: AccessToken): void {
    if (this.current === token) this.current = undefined;
  }

  private async fetch(observe: CallObserver | undefined): Promise<AccessToken> {
    const started = performance.now();
    let status: number | 'error' = 'error';
    try {
      const token = await this.request((answered) => (status = answered));
      observe?.({ source: this.source, operation: 'oauth2.token', keys: 0, status, ms: Math.round((performance.now() - started) * 100) / 100 });
      return token;
    } catch (error) {
      const errorCode = error instanceof SourceError ? error.code : ErrorCode.SOURCE_UNAVAILABLE;
      observe?.({ source: this.source, operation: 'oauth2.token', keys: 0, status, ms: Math.round((performance.now() - started) * 100) / 100, errorCode });
      throw error;
    }
  }

  private async request(answered: (status: number) => void): Promise<AccessToken> {
    const { tokenUrl, clientId, clientSecret, scope, audience, authStyle } = this.config;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (scope) form.set('scope', scope);
    if (audience) form.set('audience', audience);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (authStyle === 'basic') {
      // RFC 6749 §2.3.1: both parts form-urlencoded before Base64, so a secret with ":" or "%" survives.
      const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', clientId);
      form.set('client_secret', clientSecret);
    }
    this.fetches += 1;
    const sentAt = this.now();
    let status: number;
    let text: string;
    try {
      const response = await request(tokenUrl, { method: 'POST', headers, body: form.toString(), headersTimeout: this.options.timeoutMs, bodyTimeout: this.options.timeoutMs });
      status = response.statusCode;
      answered(status);
      text = await response.body.text();
    } catch (error) {
      throw new SourceUnavailableError(this.source, `token endpoint: ${(error as Error).message}`, undefined, { cause: error });
    }
    if (status >= 400) throw this.refusal(status, text);
    let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new SourceBadResponseError(this.source, `token endpoint: response is not JSON (${text.length} bytes)`);
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new SourceBadResponseError(this.source, 'token endpoint: no access_token in the response');
    // RFC 6749 §5.1: token_type is case-insensitive; this hub sends tokens only as Bearer (RFC 6750).
    if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
      throw new SourceBadResponseError(this.source, `token endpoint: token_type "${body.token_type.slice(0, 32)}" is not Bearer`);
    }
    const expiresInMs = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : undefined;
    // Timed from when the request left, so time spent waiting for the answer is not counted as validity. A token
    // shorter-lived than the margin is used for half its life rather than fetched for every request.
    const margin = expiresInMs === undefined ? 0 : Math.min(this.config.refreshBeforeExpiryMs, expiresInMs / 2);
    const token: AccessToken = { value: body.access_token, refreshAt: expiresInMs === undefined ? Infinity : sentAt + expiresInMs - margin };
    this.current = token;
    return token;
  }

  /** A 4xx naming a refusal, or a 401/403, is a credentials problem; anything else (5xx, 429) an outage of the endpoint. */
  private refusal(status: number, text: string): SourceError {
    const code = oauthErrorCode(text);
    const detail = `token endpoint: HTTP ${status}${code ? ` ${code}` : ''}`;
    // No status on the error: that field is the API's own 401/403, which a fresh token may cure; this one cannot be.
    if (status === 401 || status === 403 || (status === 400 && (code === undefined || REFUSALS.has(code)))) return new SourceAuthFailedError(this.source, detail);
    return new SourceUnavailableError(this.source, detail, status >= 500 || status === 429 ? 503 : status);
  }
}
