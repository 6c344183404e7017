// Upstream failures as values with stable codes; the server turns them into GraphQL errors in one place.
import { ErrorCode, isRetriable } from '../errors/catalogue.js';

export type SourceErrorCode =
  | typeof ErrorCode.SOURCE_TIMEOUT
  | typeof ErrorCode.SOURCE_UNAVAILABLE
  | typeof ErrorCode.SOURCE_BAD_RESPONSE
  | typeof ErrorCode.SOURCE_RATE_LIMITED
  | typeof ErrorCode.SOURCE_AUTH_FAILED
  | typeof ErrorCode.SOURCE_REJECTED
  | typeof ErrorCode.CIRCUIT_OPEN
  | typeof ErrorCode.UPSTREAM_BUDGET_EXCEEDED;

export abstract class SourceError extends Error {
  abstract readonly code: SourceErrorCode;
  /** Whether the same call may succeed if made again later: tells clients, and the hub's retry policy, to try again. */
  abstract readonly retryable: boolean;
  constructor(
    readonly source: string,
    /** Operator-facing detail for logs; never sent to clients. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`source "${source}": ${detail}`, options);
    this.name = new.target.name;
  }
  /** What a client may read: no URLs, credentials or stack traces. */
  get publicMessage(): string {
    return `source "${this.source}" ${PUBLIC_REASON[this.code]}`;
  }
}

const PUBLIC_REASON: Record<SourceErrorCode, string> = {
  SOURCE_TIMEOUT: 'did not answer in time',
  SOURCE_UNAVAILABLE: 'is unavailable',
  SOURCE_BAD_RESPONSE: 'sent a response the hub could not read',
  SOURCE_RATE_LIMITED: 'is rate limiting the hub',
  SOURCE_AUTH_FAILED: "refused the hub's credentials",
  SOURCE_REJECTED: 'refused the request',
  CIRCUIT_OPEN: 'is failing; the hub is not calling it for now',
  UPSTREAM_BUDGET_EXCEEDED: "was not called: the request used up its upstream-call budget (limits.maxUpstreamCalls)",
};

/** A call the request may not make: it has spent `limits.maxUpstreamCalls` (upstream-budget.ts). */
export class UpstreamBudgetExceededError extends SourceError {
  readonly code = ErrorCode.UPSTREAM_BUDGET_EXCEEDED;
  readonly retryable: boolean = isRetriable(this.code);
}

export class SourceTimeoutError extends SourceError {
  readonly code = ErrorCode.SOURCE_TIMEOUT;
  readonly retryable: boolean = isRetriable(this.code);
}

export class SourceUnavailableError extends SourceError {
  readonly code = ErrorCode.SOURCE_UNAVAILABLE;
  readonly retryable: boolean;
  /** From a `503`'s `Retry-After`: how long the source asked the hub to wait. */
  readonly retryAfterMs: number | undefined;
  constructor(source: string, detail: string, readonly status?: number, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(source, detail, options);
    // A 4xx other than 408 is the hub's own mistake: sending it again cannot help.
    this.retryable = status === undefined || status >= 500 || status === 408;
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export class SourceRateLimitedError extends SourceError {
  readonly code = ErrorCode.SOURCE_RATE_LIMITED;
  readonly retryable: boolean = isRetriable(this.code);
  constructor(source: string, detail: string, readonly retryAfterMs?: number) {
    super(source, detail);
  }
}

export class SourceBadResponseError extends SourceError {
  readonly code = ErrorCode.SOURCE_BAD_RESPONSE;
  readonly retryable: boolean = isRetriable(this.code);
}

/**
 * The source refused the hub's credentials: a 401 or 403 from it, or its OAuth2 token endpoint turning the client
 * down. Sending the same request again cannot help, so it is never retried (an OAuth2 source gets one fresh token
 * after a 401 first). Not an outage either: the source answered, fast, and the breaker does not count it.
 */
export class SourceAuthFailedError extends SourceError {
  readonly code = ErrorCode.SOURCE_AUTH_FAILED;
  readonly retryable: boolean = isRetriable(this.code);
  constructor(
    source: string,
    detail: string,
    /** The source's own 401 or 403; absent when its OAuth2 token endpoint refused the client. */
    readonly status?: 401 | 403,
    options?: { cause?: unknown },
  ) {
    super(source, detail, options);
  }
}

/** Longest source message a client is shown: enough for "email is invalid", too short to carry a record. */
const MAX_SOURCE_MESSAGE = 200;

/** The human-readable part of a source's error body, in the envelopes APIs use; null when there is none. */
function sourceMessageOf(text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  const str = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value : null);
  if (typeof body !== 'object' || body === null) return str(body);
  const b = body as Record<string, unknown>;
  const error = b.error as Record<string, unknown> | string | undefined;
  const direct = str(b.message) ?? (typeof error === 'object' && error !== null ? str(error.message) : null) ?? str(b.detail) ?? str(b.description) ?? str(b.error_description) ?? str(b.title) ?? str(error);
  if (direct) return direct;
  const errors = b.errors;
  // Shopify: {"errors": {"email": ["is invalid"]}}; JSON:API and GraphQL-ish: [{"detail"|"message": ...}]; or plain strings.
  if (Array.isArray(errors)) {
    const parts = errors.map((e) => str(e) ?? (typeof e === 'object' && e !== null ? str((e as Record<string, unknown>).message) ?? str((e as Record<string, unknown>).detail) : null)).filter((m) => m !== null);
    return parts.length > 0 ? parts.join('; ') : null;
  }
  if (typeof errors === 'object' && errors !== null) {
    const parts = Object.entries(errors).map(([field, messages]) => `${field} ${(Array.isArray(messages) ? messages : [messages]).filter((m) => typeof m === 'string').join(', ')}`.trim());
    return parts.length > 0 ? parts.join('; ') : null;
  }
  return str(errors);
}

/**
 * A source's message made fit for a client: values that look personal (email addresses, phone and other long
 * numbers) and URLs (internal topology) replaced, control characters dropped, and the length capped. A source
 * echoing the rejected value back ("foo@bar is invalid") must not turn the receipt into a copy of personal data.
 */
export function sanitizeSourceMessage(message: string): string {
  const cleaned = message
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/\bhttps?:\/\/\S+/gi, '<url>')
    .replace(/[^\s@<>"'(),;:]+@[^\s@<>"'(),;:]+/g, '<email>')
    .replace(/\+?\d[\d\s().-]{5,}\d/g, '<number>')
    .replace(/\s+/g, ' ')
    .trim();
  return cleaned.length > MAX_SOURCE_MESSAGE ? `${cleaned.slice(0, MAX_SOURCE_MESSAGE - 1)}…` : cleaned;
}

/**
 * A request the source refused on its merits (a 4xx other than 401, 403, 408 and 429; for reads, 404 aside): a write's
 * invalid or conflicting values, a record it no longer has; a read's parameter the API does not take (a page size
 * over its maximum, a filter it does not know). Sending it again cannot help, and the source is not in trouble, so
 * it is neither retried nor counted by the breaker. Its message is the source's own, sanitised, because "email has
 * already been taken" or "per_page must be at most 150" is what the operator needs to fix the write or the config.
 */
export class SourceRejectedError extends SourceError {
  readonly code = ErrorCode.SOURCE_REJECTED;
  readonly retryable: boolean = isRetriable(this.code);
  /** The source's reason, sanitised (`sanitizeSourceMessage`); `HTTP <status>` when it gave none. */
  readonly sourceMessage: string;
  constructor(
    source: string,
    detail: string,
    readonly status: number,
    body: string,
    /** What was refused: a write (the default) or a read. */
    readonly refused: 'write' | 'read' = 'write',
  ) {
    super(source, detail);
    const message = sourceMessageOf(body);
    this.sourceMessage = message === null ? `HTTP ${status}` : sanitizeSourceMessage(message) || `HTTP ${status}`;
  }
  override get publicMessage(): string {
    return `source "${this.source}" refused the ${this.refused} (HTTP ${this.status}): ${this.sourceMessage}`;
  }
}

/** The source's circuit breaker is open: the hub fails fast instead of calling a source that keeps failing. */
export class CircuitOpenError extends SourceError {
  readonly code = ErrorCode.CIRCUIT_OPEN;
  readonly retryable: boolean = isRetriable(this.code);
}

/** The wait the source asked for (`Retry-After` on a 429 or 503), if it named one. */
export function requestedRetryDelayMs(error: SourceError): number | undefined {
  return error instanceof SourceRateLimitedError || error instanceof SourceUnavailableError ? error.retryAfterMs : undefined;
}

/** Failures that say the source itself is in trouble (down, slow, overloaded): what a circuit breaker counts. */
export function isOutage(error: unknown): error is SourceError {
  return (error instanceof SourceTimeoutError || error instanceof SourceUnavailableError || error instanceof SourceRateLimitedError) && error.retryable;
}

/**
 * A list that cannot be paged to its end as declared: a page that repeats, a source that says more pages follow but
 * gives no way to reach them, a next-page URL on another host. Stops the sync before anything of that page is applied.
 */
export class SourcePaginationError extends SourceBadResponseError {
  constructor(
    source: string,
    readonly entity: string,
    /** Where the failing page started (a cursor, page number, offset or URL); null for the first page. */
    readonly cursor: string | null,
    reason: string,
  ) {
    super(source, `${entity}.list: ${reason} (at ${cursor === null ? 'the first page' : `cursor "${cursor}"`})`);
  }
}
