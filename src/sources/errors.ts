// Upstream failures as values with stable codes; the server turns them into GraphQL errors in one place.

export type SourceErrorCode = 'SOURCE_TIMEOUT' | 'SOURCE_UNAVAILABLE' | 'SOURCE_BAD_RESPONSE' | 'SOURCE_RATE_LIMITED' | 'CIRCUIT_OPEN';

export abstract class SourceError extends Error {
  abstract readonly code: SourceErrorCode;
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
  CIRCUIT_OPEN: 'is failing; the hub is not calling it for now',
};

export class SourceTimeoutError extends SourceError {
  readonly code = 'SOURCE_TIMEOUT';
  readonly retryable = true;
}

export class SourceUnavailableError extends SourceError {
  readonly code = 'SOURCE_UNAVAILABLE';
  readonly retryable = true;
  constructor(source: string, detail: string, readonly status?: number, options?: { cause?: unknown }) {
    super(source, detail, options);
  }
}

export class SourceRateLimitedError extends SourceError {
  readonly code = 'SOURCE_RATE_LIMITED';
  readonly retryable = true;
  constructor(source: string, detail: string, readonly retryAfterMs?: number) {
    super(source, detail);
  }
}

export class SourceBadResponseError extends SourceError {
  readonly code = 'SOURCE_BAD_RESPONSE';
  readonly retryable = false;
}
