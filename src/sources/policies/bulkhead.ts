// A cap on one source's concurrent requests, so a slow source cannot take every socket or pile up unbounded work.
import { BulkheadRejectedError, TaskCancelledError, bulkhead, type BulkheadPolicy } from 'cockatiel';
import { SourceTimeoutError, SourceUnavailableError } from '../errors.js';
import { isCancelled, type Interceptor, type SourceCall } from './call.js';

export interface BulkheadOptions {
  maxConcurrent: number;
  /** Calls that may wait for a free slot; beyond that they fail at once. */
  maxQueued: number;
}

export class SourceBulkhead {
  private readonly policy: BulkheadPolicy;

  constructor(
    readonly source: string,
    readonly options: BulkheadOptions,
  ) {
    this.policy = bulkhead(options.maxConcurrent, options.maxQueued);
  }

  get inFlight(): number {
    return this.options.maxConcurrent - this.policy.executionSlots;
  }

  get queued(): number {
    return this.options.maxQueued - this.policy.queueSlots;
  }

  execute<T>(run: () => Promise<T>, call: SourceCall): Promise<T> {
    // A free slot: cockatiel runs the call at once, and nothing below can be a bulkhead's rejection or a wait cut
    // short, so it needs none of the wrapping that follows (the deadline's signal, a promise and a listener per call).
    if (this.policy.executionSlots > 0 && !isCancelled(call)) return this.policy.execute(run);
    const { signal } = call;
    let started = false;
    const running = this.policy.execute(() => {
      started = true;
      return run();
    }, signal);
    return new Promise<T>((resolve, reject) => {
      // cockatiel checks the signal only when a queued call reaches a slot; the deadline must end the wait itself.
      const onAbort = () => {
        if (!started) reject(new SourceTimeoutError(this.source, 'deadline passed while waiting for a free connection slot'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      running.then(resolve, (error: unknown) => {
        if (error instanceof BulkheadRejectedError) {
          reject(new SourceUnavailableError(this.source, `${this.options.maxConcurrent} requests in flight and ${this.options.maxQueued} waiting`, undefined, { cause: error }));
        } else if (error instanceof TaskCancelledError) {
          reject(new SourceTimeoutError(this.source, 'deadline passed while waiting for a free connection slot', { cause: error }));
        } else {
          reject(error);
        }
      }).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }
}

export function withBulkhead(limiter: SourceBulkhead): Interceptor {
  return (next) => (call) => limiter.execute(() => next(call), call);
}
