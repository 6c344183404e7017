// Retries idempotent reads that failed transiently: capped exponential backoff with jitter, or the source's Retry-After, within the deadline.
import { ExponentialBackoff, halfJitterGenerator, handleWhen, retry, type IBackoff, type IBackoffFactory } from 'cockatiel';
import { CircuitOpenError, SourceError, requestedRetryDelayMs } from '../errors.js';
import type { Interceptor, SourceCall } from './call.js';

export interface RetryOptions {
  /** Retries after the first attempt; 0 turns retrying off. */
  maxRetries: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * Decides, per failed attempt, whether another one is worth making and how long to wait first. The wait is
 * planned when the error is judged, because only then is it known whether it fits in what is left of the deadline.
 */
class RetryPlan implements IBackoffFactory<unknown> {
  private readonly exponential: IBackoffFactory<unknown>;
  private backoff: IBackoff<unknown> | undefined;
  private plannedMs = 0;

  constructor(
    options: RetryOptions,
    private readonly call: SourceCall,
  ) {
    // Half jitter: spreads the retries of many hub requests hitting one failing source, yet never waits near zero.
    this.exponential = new ExponentialBackoff({ initialDelay: options.initialDelayMs, maxDelay: options.maxDelayMs, generator: halfJitterGenerator });
  }

  shouldRetry(error: Error): boolean {
    // An open circuit already means "do not call"; retrying it would only spin.
    if (!(error instanceof SourceError) || !error.retryable || error instanceof CircuitOpenError) return false;
    this.backoff = this.backoff ? this.backoff.next(undefined) : this.exponential.next(undefined);
    const waitMs = requestedRetryDelayMs(error) ?? this.backoff.duration;
    // A wait that would outlast the deadline only delays the same failure: fail fast instead.
    if (waitMs >= this.call.deadline.remainingMs()) return false;
    this.plannedMs = waitMs;
    return true;
  }

  next(): IBackoff<unknown> {
    return { duration: this.plannedMs, next: () => this.next() };
  }
}

export function withRetry(options: RetryOptions): Interceptor {
  return (next) => (call) => {
    if (!call.idempotent || options.maxRetries === 0) return next(call);
    const plan = new RetryPlan(options, call);
    const policy = retry(handleWhen((error) => plan.shouldRetry(error)), { maxAttempts: options.maxRetries, backoff: plan });
    return policy.execute(() => next(call), call.signal);
  };
}
