// Retries idempotent reads that failed transiently: capped exponential backoff with jitter, or the source's Retry-After, within the deadline.
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, halfJitterGenerator, type IBackoff, type IBackoffFactory } from 'cockatiel';
import { CircuitOpenError, SourceError, requestedRetryDelayMs } from '../errors.js';
import { isCancelled, type Dispatch, type Interceptor, type SourceCall } from './call.js';

export interface RetryOptions {
  /** Retries after the first attempt; 0 turns retrying off. */
  maxRetries: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

/**
 * The wait before the next attempt, or undefined when another attempt is not worth making. The wait is planned
 * when the error is judged, because only then is it known whether it fits in what is left of the deadline.
 */
function plannedWaitMs(error: unknown, call: SourceCall, backoff: IBackoff<unknown>): number | undefined {
  // An open circuit already means "do not call"; retrying it would only spin.
  if (!(error instanceof SourceError) || !error.retryable || error instanceof CircuitOpenError) return undefined;
  const waitMs = requestedRetryDelayMs(error) ?? backoff.duration;
  // A wait that would outlast the deadline only delays the same failure: fail fast instead.
  return waitMs < call.deadline.remainingMs() ? waitMs : undefined;
}

/**
 * A loop, not a cockatiel retry policy: the plan depends on each call's deadline, so a policy would have to be built
 * per call (a dozen objects, most never used), and a call that succeeds first time, nearly all of them, should cost
 * one `await`. The backoff is cockatiel's, built on the first failure only.
 */
async function withRetries<T>(next: Dispatch<T>, call: SourceCall, options: RetryOptions, exponential: IBackoffFactory<unknown>): Promise<T> {
  let backoff: IBackoff<unknown> | undefined;
  for (let retries = 0; ; retries++) {
    try {
      return await next(call);
    } catch (error) {
      if (retries >= options.maxRetries || isCancelled(call)) throw error;
      // Half jitter: spreads the retries of many hub requests hitting one failing source, yet never waits near zero.
      const next: IBackoff<unknown> = backoff ? backoff.next(undefined) : exponential.next(undefined);
      backoff = next;
      const waitMs = plannedWaitMs(error, call, next);
      if (waitMs === undefined) throw error;
      await sleep(waitMs);
    }
  }
}

export function withRetry(options: RetryOptions): Interceptor {
  const exponential: IBackoffFactory<unknown> = new ExponentialBackoff({ initialDelay: options.initialDelayMs, maxDelay: options.maxDelayMs, generator: halfJitterGenerator });
  return (next) => (call) => {
    if (!call.idempotent || options.maxRetries === 0) return next(call);
    return withRetries(next, call, options, exponential);
  };
}
