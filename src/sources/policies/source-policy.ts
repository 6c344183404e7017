// One source's resilience, composed from the small policies: retry → bulkhead → circuit breaker → attempt timeout.
import type { Logger } from 'pino';
import type { ResilienceConfig } from '../../config/schema.js';
import { compose, type Dispatch, type Interceptor, type SourceCall } from './call.js';
import { SourceBreaker, withCircuitBreaker, type CircuitStatus } from './breaker.js';
import { SourceBulkhead, withBulkhead } from './bulkhead.js';
import { withRetry } from './retry.js';
import { withAttemptTimeout } from './timeout.js';

export interface SourcePolicyOptions {
  /** Per attempt. */
  timeoutMs: number;
  maxConcurrent: number;
  resilience: ResilienceConfig;
}

export interface PolicyStatus {
  circuit: CircuitStatus;
  inFlight: number;
  queued: number;
}

export class SourcePolicy {
  readonly breaker: SourceBreaker;
  readonly bulkhead: SourceBulkhead;
  private readonly chain: Interceptor;

  constructor(source: string, options: SourcePolicyOptions, logger: Logger) {
    this.breaker = new SourceBreaker(source, options.resilience.circuitBreaker, logger);
    this.bulkhead = new SourceBulkhead(source, { maxConcurrent: options.maxConcurrent, maxQueued: options.resilience.bulkhead.maxQueued });
    // Order matters. Retry is outermost so each attempt passes the breaker (and counts in it) and waits its turn anew,
    // without holding a slot through its backoff. The bulkhead sits outside the breaker so time spent queued is
    // never counted as the source's failure; the timeout is innermost so it bounds only the request itself.
    this.chain = compose(withRetry(options.resilience.retry), withBulkhead(this.bulkhead), withCircuitBreaker(this.breaker), withAttemptTimeout(options.timeoutMs));
  }

  /** `call.signal` is the deadline's (or the caller's own); each attempt gets its own inside the timeout. */
  run<T>(call: SourceCall, attempt: Dispatch<T>): Promise<T> {
    return this.chain(attempt)(call);
  }

  status(): PolicyStatus {
    return { circuit: this.breaker.status, inFlight: this.bulkhead.inFlight, queued: this.bulkhead.queued };
  }
}
