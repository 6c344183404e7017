// One source's HTTP access: a keep-alive undici Pool, auth, timeouts, JSON decoding and typed errors.
import { Pool } from 'undici';
import type { AuthConfig, SourceConfig } from '../config/schema.js';
import { SourceBadResponseError, SourceError, SourceRateLimitedError, SourceTimeoutError, SourceUnavailableError } from './errors.js';

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
  observe?: CallObserver;
}

function authHeaders(auth: AuthConfig): Record<string, string> {
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
  /** Lifetime counters, for `Query.sources`. */
  requests = 0;
  errors = 0;

  constructor(
    readonly source: string,
    config: SourceConfig,
  ) {
    const base = new URL(config.baseUrl);
    this.basePath = base.pathname.replace(/\/$/, '');
    this.timeoutMs = config.timeoutMs;
    this.headers = { accept: 'application/json', ...authHeaders(config.auth) };
    this.pool = new Pool(base.origin, {
      connections: config.connections,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(config.timeoutMs, 10_000),
    });
  }

  async requestJson(request: JsonRequest): Promise<unknown> {
    const started = performance.now();
    let status: number | 'error' = 'error';
    let errorCode: string | undefined;
    this.requests += 1;
    try {
      return await this.send(request, (s) => (status = s));
    } catch (error) {
      this.errors += 1;
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

  private async send(request: JsonRequest, onStatus: (status: number) => void): Promise<unknown> {
    const search = request.query && Object.keys(request.query).length > 0 ? `?${new URLSearchParams(request.query).toString()}` : '';
    const signal = AbortSignal.timeout(this.timeoutMs);
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
      if (signal.aborted) throw new SourceTimeoutError(this.source, `${request.operation}: no response within ${this.timeoutMs} ms`, { cause: error });
      throw new SourceUnavailableError(this.source, `${request.operation}: ${(error as Error).message}`, undefined, { cause: error });
    }
    onStatus(response.statusCode);
    let text: string;
    try {
      text = await response.body.text();
    } catch (error) {
      if (signal.aborted) throw new SourceTimeoutError(this.source, `${request.operation}: body not complete within ${this.timeoutMs} ms`, { cause: error });
      throw new SourceUnavailableError(this.source, `${request.operation}: body read failed: ${(error as Error).message}`, response.statusCode, { cause: error });
    }
    const code = response.statusCode;
    if (code === 404 && request.notFoundIsNull) return null;
    if (code === 429) throw new SourceRateLimitedError(this.source, `${request.operation}: 429`, retryAfterMs(response.headers['retry-after']));
    if (code >= 400) throw new SourceUnavailableError(this.source, `${request.operation}: HTTP ${code}`, code);
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
