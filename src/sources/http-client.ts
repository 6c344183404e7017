// One source's HTTP access: a keep-alive undici Pool behind the source's resilience policies, auth, JSON decoding and typed errors.
import type { Logger } from 'pino';
import { Pool } from 'undici';
import type { AuthConfig, SourceConfig } from '../config/schema.js';
import { createLogger } from '../observability/logger.js';
import { SourceBadResponseError, SourceError, SourceRateLimitedError, SourceTimeoutError, SourceUnavailableError } from './errors.js';
import type { SourceCall } from './policies/call.js';
import { Deadline } from './policies/deadline.js';
import { RollingWindow } from './policies/rolling-window.js';
import { SourcePolicy, type PolicyStatus } from './policies/source-policy.js';

/** One upstream HTTP call, as reported to explain and to the source's counters. */
export interface UpstreamCall {
  source: string;
  operation: string;
  keys: number;
  status: number | 'error';
  ms: number;
  errorCode?: string;
}

export type CallObserver = (call: UpstreamCall) => void;

export interface JsonRequest {
  method: 'GET' | 'POST';
  /** Path below the source's base URL, already filled (e.g. `/users/17/tickets`). */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
  /** Name for explain and metrics, e.g. `contact.batch`. */
  operation: string;
  keys: number;
  /** 404 means "no such record" for single reads, not a failure. */
  notFoundIsNull?: boolean;
  /** A POST that only reads (a batch read the source declares safe) may be retried like a GET. */
  idempotent?: boolean;
  /** The query's time budget; without one, only the per-request timeout bounds the call (the link sync). */
  deadline?: Deadline;
  observe?: CallObserver;
}

/** What `/readyz` and `Query.sources` report of a source. */
export interface SourceHealth extends PolicyStatus {
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
  /** Where circuit state changes are logged. */
  logger?: Logger;
}

const DEFAULT_LOGGER = createLogger();

/** The headers a source's declared auth adds to every request. */
export function authHeaders(auth: AuthConfig): Record<string, string> {
  switch (auth.type) {
    case 'none':
      return {};
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'header':
      return { [auth.name.toLowerCase()]: auth.value };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
  }
}

function retryAfterMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

export class SourceHttpClient {
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly headers: Record<string, string>;
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
    this.headers = { accept: 'application/json', ...authHeaders(config.auth) };
    const maxConcurrent = config.resilience.bulkhead.maxConcurrent ?? config.connections;
    this.policy = new SourcePolicy(source, { timeoutMs: config.timeoutMs, maxConcurrent, resilience: config.resilience }, options.logger ?? DEFAULT_LOGGER);
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
    const call = {
      source: this.source,
      operation: request.operation,
      idempotent: request.method === 'GET' || request.idempotent === true,
      deadline: request.deadline ?? Deadline.none(),
    };
    return this.policy.run(call, (attempt) => this.attempt(request, attempt));
  }

  health(): SourceHealth {
    const { successes, failures } = this.recent.counts();
    const recentRequests = successes + failures;
    return {
      ...this.policy.status(),
      requests: this.requests,
      errors: this.errors,
      recentRequests,
      recentErrors: failures,
      recentErrorRate: recentRequests === 0 ? 0 : failures / recentRequests,
      recentWindowMs: this.recent.windowMs,
    };
  }

  /** One HTTP request, counted and reported to explain. */
  private async attempt(request: JsonRequest, call: SourceCall): Promise<unknown> {
    const started = performance.now();
    let status: number | 'error' = 'error';
    let errorCode: string | undefined;
    this.requests += 1;
    try {
      const body = await this.send(request, call, (s) => (status = s));
      this.recent.record(true);
      return body;
    } catch (error) {
      this.errors += 1;
      this.recent.record(false);
      errorCode = error instanceof SourceError ? error.code : 'SOURCE_UNAVAILABLE';
      throw error;
    } finally {
      request.observe?.({
        source: this.source,
        operation: request.operation,
        keys: request.keys,
        status,
        ms: Math.round((performance.now() - started) * 100) / 100,
        ...(errorCode ? { errorCode } : {}),
      });
    }
  }

  private timedOut(request: JsonRequest, call: SourceCall, stage: string, cause: unknown): SourceTimeoutError {
    const limit = call.deadline.expired ? "the query's deadline passed" : `no ${stage} within ${this.timeoutMs} ms`;
    return new SourceTimeoutError(this.source, `${request.operation}: ${limit}`, { cause });
  }

  private async send(request: JsonRequest, call: SourceCall, onStatus: (status: number) => void): Promise<unknown> {
    const search = request.query && Object.keys(request.query).length > 0 ? `?${new URLSearchParams(request.query).toString()}` : '';
    const { signal } = call;
    let response;
    try {
      response = await this.pool.request({
        method: request.method,
        path: `${this.basePath}${request.path}${search}`,
        headers: request.body === undefined ? this.headers : { ...this.headers, 'content-type': 'application/json' },
        body: request.body === undefined ? null : JSON.stringify(request.body),
        signal,
      });
    } catch (error) {
      if (signal.aborted) throw this.timedOut(request, call, 'response', error);
      throw new SourceUnavailableError(this.source, `${request.operation}: ${(error as Error).message}`, undefined, { cause: error });
    }
    const code = response.statusCode;
    onStatus(code);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (signal.aborted) throw this.timedOut(request, call, 'complete body', error);
      // A body cut off mid-way (a reset, a truncated reply) is a transport failure: worth another attempt.
      throw new SourceUnavailableError(this.source, `${request.operation}: body read failed: ${(error as Error).message}`, undefined, { cause: error });
    }
    if (code === 404 && request.notFoundIsNull) return null;
    if (code === 429) throw new SourceRateLimitedError(this.source, `${request.operation}: 429`, retryAfterMs(response.headers['retry-after']));
    if (code >= 400) {
      const retryAfter = code === 503 ? retryAfterMs(response.headers['retry-after']) : undefined;
      throw new SourceUnavailableError(this.source, `${request.operation}: HTTP ${code}`, code, retryAfter === undefined ? {} : { retryAfterMs: retryAfter });
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new SourceBadResponseError(this.source, `${request.operation}: response is not JSON (${text.length} bytes)`);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
