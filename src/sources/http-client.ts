// One source's HTTP access: a keep-alive undici Pool behind the source's resilience policies, auth, JSON decoding and typed errors.
import type { Logger } from 'pino';
import { Pool, type Dispatcher } from 'undici';
import type { SourceConfig } from '../config/schema.js';
import { ErrorCode } from '../errors/catalogue.js';
import { createLogger } from '../logging/logger.js';
import { AuthState, SourceCredentials, type AppliedCredentials, type AuthHealth } from './credentials.js';
import { SourceAuthFailedError, SourceBadResponseError, SourceError, SourceRateLimitedError, SourceRejectedError, SourceTimeoutError, SourceUnavailableError } from './errors.js';
import type { HttpMethod, QueryValue } from '../expressions/request-template.js';
import { DeadlineCall, type AttemptLimit, type SourceCall } from './policies/call.js';
import { Deadline } from './policies/deadline.js';
import { RollingWindow } from './policies/rolling-window.js';
import { SourcePolicy, type PolicyStatus } from './policies/source-policy.js';
import { onCutOff } from './policies/timeout.js';
import { LocalTokenBucket, type TokenBucket } from './policies/token-bucket.js';

import type { CallObserver, UpstreamCall } from './upstream-call.js';

export { authHeaders } from './credentials.js';
export type { CallObserver, UpstreamCall } from './upstream-call.js';

export interface JsonRequest {
  method: HttpMethod;
  /** Path below the source's base URL, already filled (e.g. `/users/17/tickets`). */
  path: string;
  /** `path` is a whole path and query from the origin: a next-page URL the source gave (checked to be on its origin). */
  fromOrigin?: boolean;
  /** Told the response's `Link` header (RFC 8288), for lists paginated by it; called once, for the attempt that succeeded. */
  onLinkHeader?: (value: string | undefined) => void;
  /** Parameters in order; a list value repeats its parameter once per element (`id=1&id=2`). */
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Name for explain and metrics, e.g. `contact.batch`. */
  operation: string;
  keys: number;
  /** 404 means "no such record" for single reads, not a failure. */
  notFoundIsNull?: boolean;
  /** Safe to send twice: a POST that only reads (a batch read the source declares safe), a PUT, or a write carrying an idempotency key. Only these are retried. */
  idempotent?: boolean;
  /** Headers beside the source's auth headers (a write's idempotency key). */
  headers?: Record<string, string>;
  /**
   * A write: a 4xx other than 401, 403 and 429 is the source refusing it (SourceRejectedError, with the source's own
   * message, sanitised), and a 404 is such a refusal too, never "no record".
   */
  write?: boolean;
  /** The query's time budget; without one, only the per-request timeout bounds the call (the link sync). */
  deadline?: Deadline;
  observe?: CallObserver;
}

/** What `/readyz` and `Query.sources` report of a source. */
export interface SourceHealth extends PolicyStatus, AuthHealth {
  /** Upstream requests (attempts, retries included) since the process started, and how many failed. */
  requests: number;
  errors: number;
  /** The same over the last `recentWindowMs`. */
  recentRequests: number;
  recentErrors: number;
  recentErrorRate: number;
  recentWindowMs: number;
}

export interface SourceHttpClientOptions {
  /** Where circuit and credential state changes are logged. */
  logger?: Logger;
  /** The source's `rateLimit` bucket when shared through Redis; absent: a per-process one if the source has a `rateLimit`. */
  rateLimitBucket?: TokenBucket;
  /** The clock OAuth2 token lifetimes are judged by (tests move it). */
  now?: () => number;
}

const DEFAULT_LOGGER = createLogger();

function retryAfterMs(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

/** A next-page path that carries the source's own query string, with ours (an API key) after it. */
function joinQuery(pathAndQuery: string, search: string): string {
  return search !== '' && pathAndQuery.includes('?') ? `${pathAndQuery}&${search.slice(1)}` : `${pathAndQuery}${search}`;
}

/** The first value of header `name` (lower case) in undici's raw `[name, value, name, value, …]` list. */
function rawHeader(raw: readonly Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toString('latin1').toLowerCase() === name) return raw[i + 1]!.toString('latin1');
  }
  return undefined;
}

/** The body as text, decoded as undici's `body.text()` does: UTF-8, a leading byte order mark dropped. */
function utf8Text(chunks: readonly Buffer[]): string {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  const start = body.length > 2 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  return body.toString('utf8', start);
}

/** Where a read stopped: before the status line was in, or while reading the body. */
type Stage = 'response' | 'complete body';

/** Why a response could not be read whole: the attempt's time ran out (`limit`), or the connection failed (`cause`). */
class ReadFailure {
  constructor(
    readonly stage: Stage,
    readonly limit: AttemptLimit | undefined,
    readonly cause: Error | undefined,
  ) {}
}

/**
 * Reads one response whole, straight from undici's dispatcher. `pool.request` builds, per request, an async resource,
 * a header object, a Readable body stream (drained again by `body.text()`) and an abort listener on a signal. This
 * keeps only the status, the one header the hub reads (Retry-After, on a 429 or 503) and the body's chunks.
 * It implements the handler hooks undici's core calls (`onConnect` … `onError`; marked deprecated in undici 7's types):
 * the newer `onRequestStart` family is adapted to them per request, all headers parsed, which measured 3–12% more hub
 * CPU per call (`npm run bench:upstream`). Should a later undici drop these hooks, the newer ones map one to one.
 */
class ResponseReader implements Dispatcher.DispatchHandler {
  /** The response status, 0 until the status line is in. */
  status = 0;
  retryAfter: string | undefined;
  /** The `Link` header, read only for requests that ask for it. */
  link: string | undefined;
  /** The whole body as text, or a `ReadFailure`. */
  readonly body: Promise<string>;
  private readonly chunks: Buffer[] = [];
  private abortRequest: ((error: Error) => void) | undefined;
  private cutOffBy: AttemptLimit | undefined;
  private settled = false;
  private resolve!: (text: string) => void;
  private reject!: (failure: ReadFailure) => void;

  constructor(private readonly wantsLink = false) {
    this.body = new Promise<string>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  /** The attempt's time is up: it fails now, and the request, if undici has sent it, is aborted. */
  cutOff(limit: AttemptLimit): void {
    if (this.settled) return;
    this.cutOffBy = limit;
    this.fail(new ReadFailure(this.stage(), limit, undefined));
    this.abortRequest?.(new Error(`attempt cut off: ${limit}`));
  }

  get isCutOff(): boolean {
    return this.cutOffBy !== undefined;
  }

  onConnect(abort: (error?: Error) => void): void {
    // Cut off while undici still held it (connecting): never sent.
    if (this.cutOffBy) abort(new Error(`attempt cut off: ${this.cutOffBy}`));
    else this.abortRequest = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    // 1xx interim responses (100 Continue) are not the answer.
    if (statusCode < 200) return true;
    this.status = statusCode;
    if (statusCode === 429 || statusCode === 503) this.retryAfter = rawHeader(rawHeaders, 'retry-after');
    if (this.wantsLink) this.link = rawHeader(rawHeaders, 'link');
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(utf8Text(this.chunks));
  }

  onError(error: Error): void {
    // After a cut-off, undici reports the abort it was asked for: the attempt has already failed.
    this.fail(new ReadFailure(this.stage(), undefined, error));
  }

  private stage(): Stage {
    return this.status === 0 ? 'response' : 'complete body';
  }

  private fail(failure: ReadFailure): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(failure);
  }
}

export class SourceHttpClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly credentials: SourceCredentials;
  private readonly authState: AuthState;
  private readonly timeoutMs: number;
  private readonly policy: SourcePolicy;
  private readonly recent: RollingWindow;
  /** Lifetime counters, for `Query.sources`. */
  requests = 0;
  errors = 0;

  constructor(
    readonly source: string,
    config: SourceConfig,
    options: SourceHttpClientOptions = {},
  ) {
    const base = new URL(config.baseUrl);
    this.basePath = base.pathname.replace(/\/$/, '');
    this.timeoutMs = config.timeoutMs;
    const logger = options.logger ?? DEFAULT_LOGGER;
    this.credentials = new SourceCredentials(source, config.auth, { timeoutMs: config.timeoutMs, headers: config.headers, ...(options.now ? { now: options.now } : {}) });
    this.authState = new AuthState(source, logger);
    const maxConcurrent = config.resilience.bulkhead.maxConcurrent ?? config.connections;
    const rateLimitBucket = options.rateLimitBucket ?? (config.rateLimit ? new LocalTokenBucket(config.rateLimit) : undefined);
    this.policy = new SourcePolicy(source, { timeoutMs: config.timeoutMs, maxConcurrent, resilience: config.resilience, ...(rateLimitBucket ? { rateLimitBucket } : {}) }, logger);
    this.recent = new RollingWindow(config.resilience.circuitBreaker.windowMs);
    // As many sockets as the bulkhead lets requests through: none idle, none waited for inside undici.
    this.pool = new Pool(base.origin, {
      connections: maxConcurrent,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(config.connectTimeoutMs, config.timeoutMs),
    });
  }

  /** One logical read: sent, and if need be retried, under the source's policies. */
  requestJson(request: JsonRequest): Promise<unknown> {
    const idempotent = request.method === 'GET' || request.idempotent === true;
    const call = new DeadlineCall(this.source, request.operation, idempotent, request.deadline ?? Deadline.none());
    if (!this.credentials.refreshable) return this.policy.run(call, (attempt) => this.attempt(request, attempt, true));
    return this.policy.run(call, (attempt) => this.attempt(request, attempt, false)).catch((error: unknown) => this.afterRefusal(error, request, call));
  }

  /**
   * An OAuth2 token can be revoked or expire early: a 401 drops it (see `attempt`) and the request is sent once more
   * with a fresh one. A 401 means the source did not act on the request, so even a POST is safe to send again.
   */
  private afterRefusal(error: unknown, request: JsonRequest, call: DeadlineCall): Promise<unknown> {
    if (!(error instanceof SourceAuthFailedError && error.status === 401)) throw error;
    return this.policy.run(call, (attempt) => this.attempt(request, attempt, true));
  }

  health(): SourceHealth {
    const { successes, failures } = this.recent.counts();
    const recentRequests = successes + failures;
    return {
      ...this.policy.status(),
      ...this.authState.health(),
      requests: this.requests,
      errors: this.errors,
      recentRequests,
      recentErrors: failures,
      recentErrorRate: recentRequests === 0 ? 0 : failures / recentRequests,
      recentWindowMs: this.recent.windowMs,
    };
  }

  /**
   * One HTTP request, counted and reported to explain. `finalSay`: whether a refusal of the credentials is the
   * request's last word, or (an OAuth2 source's first 401) one a fresh token may still cure, which is not a failing state.
   */
  private async attempt(request: JsonRequest, call: SourceCall, finalSay: boolean): Promise<unknown> {
    // An OAuth2 token first: its request is reported on its own (`oauth2.token`), and if it fails nothing is sent to the API.
    const credentials = this.credentials.now() ?? (await this.tokenWithin(call, request.observe));
    const started = performance.now();
    this.requests += 1;
    const reader = new ResponseReader(request.onLinkHeader !== undefined);
    let errorCode: string | undefined;
    try {
      const body = this.decode(request, reader, await this.send(request, call, reader, credentials));
      request.onLinkHeader?.(reader.link);
      this.recent.record(true);
      return body;
    } catch (thrown) {
      const error = thrown instanceof ReadFailure ? this.readFailed(request.operation, thrown) : thrown;
      if (error instanceof SourceAuthFailedError) {
        if (error.status === 401) this.credentials.refused(credentials);
        if (finalSay || error.status !== 401) this.authState.refused(error);
      }
      this.errors += 1;
      this.recent.record(false);
      errorCode = error instanceof SourceError ? error.code : ErrorCode.SOURCE_UNAVAILABLE;
      throw error;
    } finally {
      if (request.observe) {
        const observed: UpstreamCall = {
          source: this.source,
          operation: request.operation,
          keys: request.keys,
          status: reader.status === 0 ? 'error' : reader.status,
          ms: Math.round((performance.now() - started) * 100) / 100,
        };
        if (errorCode) observed.errorCode = errorCode;
        request.observe(observed);
      }
    }
  }

  /** An OAuth2 token, fetched (once for every caller waiting) within what is left of the call's deadline. */
  private async tokenWithin(call: SourceCall, observe: CallObserver | undefined): Promise<AppliedCredentials> {
    try {
      return await call.deadline.race(this.credentials.fetch(observe), () => new SourceTimeoutError(this.source, "the query's deadline passed while fetching an OAuth2 token"));
    } catch (error) {
      // The token endpoint refusing the client is the source refusing the hub's credentials.
      if (error instanceof SourceAuthFailedError) this.authState.refused(error);
      throw error;
    }
  }

  /** Sends the request and resolves to its whole body as text; fails with the attempt's time or a transport failure. */
  private send(request: JsonRequest, call: SourceCall, reader: ResponseReader, credentials: AppliedCredentials): Promise<string> {
    const stopListening = onCutOff(call, (limit) => reader.cutOff(limit));
    // Cut off already (the deadline passed while the attempt waited its turn): nothing is sent.
    if (reader.isCutOff) return reader.body;
    const search = this.search(request, credentials);
    const hasBody = request.body !== undefined;
    try {
      // undici reports its own failures (a bad path, a closed pool) to the reader; only the body's encoding can throw here.
      this.pool.dispatch(
        {
          method: request.method,
          path: request.fromOrigin ? joinQuery(request.path, search) : `${this.basePath}${request.path}${search}`,
          headers: request.headers ? { ...(hasBody ? credentials.jsonHeaders : credentials.headers), ...request.headers } : hasBody ? credentials.jsonHeaders : credentials.headers,
          body: hasBody ? JSON.stringify(request.body) : null,
        },
        reader,
      );
    } catch (error) {
      reader.onError(error as Error);
    }
    return stopListening === undefined ? reader.body : reader.body.finally(stopListening);
  }

  /** The query string: the request's parameters, and an API key if the source takes it there. */
  private search(request: JsonRequest, credentials: AppliedCredentials): string {
    const hasQuery = request.query !== undefined && Object.keys(request.query).length > 0;
    if (!hasQuery && !credentials.queryParam) return '';
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (typeof value === 'string') params.append(name, value);
      else for (const item of value) params.append(name, item);
    }
    if (credentials.queryParam) params.set(credentials.queryParam[0], credentials.queryParam[1]);
    return `?${params.toString()}`;
  }

  /** The JSON of a complete response, or the typed error its status means. */
  private decode(request: JsonRequest, reader: ResponseReader, text: string): unknown {
    const code = reader.status;
    if (code === 401 || code === 403) throw new SourceAuthFailedError(this.source, `${request.operation}: HTTP ${code}`, code);
    // A success, or a record the source looked for and did not find, got past its credentials check (a 5xx may come from a gateway in front of it).
    if (code < 400 || code === 404) this.authState.accepted();
    if (code === 404 && request.notFoundIsNull) return null;
    // A write answered 204 No Content confirmed it with no record to show.
    if (request.write && code < 300 && text.trim() === '') return null;
    if (code === 429) throw new SourceRateLimitedError(this.source, `${request.operation}: 429`, retryAfterMs(reader.retryAfter));
    // A write the source answers 4xx (but 408, a timeout) was refused on its merits: saying why is the whole point.
    if (request.write && code >= 400 && code < 500 && code !== 408) throw new SourceRejectedError(this.source, `${request.operation}: HTTP ${code}`, code, text);
    // A read the source answers 4xx (but 404, 408) was refused as sent (a parameter it does not take, a page size over
    // its maximum): a config problem to show with the source's reason, not an outage to retry or count against it.
    if (!request.write && code >= 400 && code < 500 && code !== 404 && code !== 408) {
      throw new SourceRejectedError(this.source, `${request.operation}: HTTP ${code}`, code, text, 'read');
    }
    if (code >= 400) {
      const retryAfter = code === 503 ? retryAfterMs(reader.retryAfter) : undefined;
      throw new SourceUnavailableError(this.source, `${request.operation}: HTTP ${code}`, code, retryAfter === undefined ? {} : { retryAfterMs: retryAfter });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new SourceBadResponseError(this.source, `${request.operation}: response is not JSON (${text.length} bytes)`);
    }
  }

  /** A timeout naming the limit that ended the attempt, or a transport failure (refused, reset, truncated). */
  private readFailed(operation: string, { stage, limit, cause }: ReadFailure): SourceError {
    if (limit) {
      const reason = limit === 'deadline' ? "the query's deadline passed" : `no ${stage} within ${this.timeoutMs} ms`;
      return new SourceTimeoutError(this.source, `${operation}: ${reason}`);
    }
    // A body cut off mid-way (a reset, a truncated reply) is a transport failure as much as a refused connection: worth another attempt.
    const detail = stage === 'response' ? `${operation}: ${cause?.message}` : `${operation}: body read failed: ${cause?.message}`;
    return new SourceUnavailableError(this.source, detail, undefined, { cause });
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
