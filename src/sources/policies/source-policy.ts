// One source's resilience, composed from the small policies: retry → rate limit → bulkhead → circuit breaker → attempt timeout.
import type { Logger } from 'pino';
import type { ResilienceConfig } from '../../config/schema.js';
import { compose, type Dispatch, type Interceptor, type SourceCall } from './call.js';
import { SourceBreaker, withCircuitBreaker, withOpenCircuitFailFast, type CircuitStatus } from './breaker.js';
import { SourceBulkhead, withBulkhead } from './bulkhead.js';
import { SourceRateLimiter, withRateLimit } from './rate-limit.js';
import { withRetry } from './retry.js';
import { withAttemptTimeout } from './timeout.js';
import type { TokenBucket } from './token-bucket.js';

export interface SourcePolicyOptions {
  /** Per attempt. */
  timeoutMs: number;
  maxConcurrent: number;
  resilience: ResilienceConfig;
  /** The source's `rateLimit` bucket; absent, calls are not rate limited. */
  rateLimitBucket?: TokenBucket;
}

interface RateLimitStatus {
  /** Where the bucket lives: `LOCAL` (per process), `REDIS` (shared by replicas), `LOCAL_FALLBACK` (Redis unreachable). */
  store: TokenBucket['store'];
  /** Calls waiting for a token now. */
  waiting: number;
  /** Calls let through since start. */
  granted: number;
}

export interface PolicyStatus {
  circuit: CircuitStatus;
  inFlight: number;
  queued: number;
  rateLimit: RateLimitStatus | null;
}

export class SourcePolicy {
  readonly breaker: SourceBreaker;
  readonly bulkhead: SourceBulkhead;
  readonly rateLimiter: SourceRateLimiter | undefined;
  private readonly chain: Interceptor;

  constructor(source: string, options: SourcePolicyOptions, logger: Logger) {
    this.breaker = new SourceBreaker(source, options.resilience.circuitBreaker, logger);
    this.bulkhead = new SourceBulkhead(source, { maxConcurrent: options.maxConcurrent, maxQueued: options.resilience.bulkhead.maxQueued });
    this.rateLimiter = options.rateLimitBucket ? new SourceRateLimiter(source, options.rateLimitBucket) : undefined;
    // Order matters. Retry is outermost so each attempt passes the breaker (and counts in it) and waits its turn anew,
    // without holding a slot through its backoff. Each attempt takes a rate-limit token before it queues for a slot, so
    // a call waiting for a token holds no connection; a call the circuit would refuse fails before it spends a token.
    // The bulkhead sits outside the breaker so time spent queued is never counted as the source's failure; the timeout
    // is innermost so it bounds only the request itself.
    const limits: Interceptor[] = this.rateLimiter ? [withOpenCircuitFailFast(this.breaker), withRateLimit(this.rateLimiter)] : [];
    this.chain = compose(withRetry(options.resilience.retry), ...limits, withBulkhead(this.bulkhead), withCircuitBreaker(this.breaker), withAttemptTimeout(options.timeoutMs));
  }

  /** `call.signal` is the deadline's (or the caller's own); each attempt gets its own inside the timeout. */
  run<T>(call: SourceCall, attempt: Dispatch<T>): Promise<T> {
    return this.chain(attempt)(call);
  }

  status(): PolicyStatus {
    const limiter = this.rateLimiter;
    return {
      circuit: this.breaker.status,
      inFlight: this.bulkhead.inFlight,
      queued: this.bulkhead.queued,
      rateLimit: limiter ? { store: limiter.store, waiting: limiter.waiting, granted: limiter.granted } : null,
    };
  }
}
