// Holds each call to a rate-limited source until its token bucket grants one: queries first, then sync and refreshes.
import { SourceTimeoutError } from '../errors.js';
import type { Interceptor, SourceCall } from './call.js';
import type { TokenBucket } from './token-bucket.js';

/** A query's call waits ahead of background work (the link sync, cache refreshes); FIFO within each class. */
type CallPriority = 'query' | 'background';

interface Waiter {
  readonly call: SourceCall;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
}

/** Queries with a budget are served first; a call without one (the sync) or marked background is background work. */
function priorityOf(call: SourceCall): CallPriority {
  return call.deadline.background ? 'background' : 'query';
}

export class SourceRateLimiter {
  private readonly queries: Waiter[] = [];
  private readonly background: Waiter[] = [];
  /** Whether the loop that hands out tokens runs; only one does, so the order of the queues is the order of grants. */
  private pumping = false;
  /** Calls let through since start, for `Query.sources`, `/readyz` and tests. */
  granted = 0;

  constructor(
    readonly source: string,
    private readonly bucket: TokenBucket,
  ) {}

  get waiting(): number {
    return this.queries.length + this.background.length;
  }

  get store(): TokenBucket['store'] {
    return this.bucket.store;
  }

  /** Resolves when the call may go out; rejects if its deadline passes first (the wait is part of the query's budget). */
  acquire(call: SourceCall): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { call, resolve, reject, timer: undefined, settled: false };
      const remainingMs = call.deadline.remainingMs();
      if (remainingMs === 0) {
        reject(this.deadlinePassed());
        return;
      }
      if (remainingMs !== Infinity) waiter.timer = setTimeout(() => this.settle(waiter, this.deadlinePassed()), remainingMs).unref();
      (priorityOf(call) === 'query' ? this.queries : this.background).push(waiter);
      if (!this.pumping) void this.pump();
    });
  }

  /** Grants tokens to the head of the queues, queries first, sleeping until the next token when the bucket is empty. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let head = this.head(); head; head = this.head()) {
        const take = await this.bucket.take();
        // The head may have timed out while the take was in flight; a granted token then goes to the next waiter.
        const next = head.settled ? this.head() : head;
        if (!next) break;
        if (take.granted) {
          this.granted += 1;
          this.settle(next);
          continue;
        }
        // A query that would still be waiting at its deadline fails now rather than at the deadline.
        if (take.waitMs >= next.call.deadline.remainingMs()) {
          this.settle(next, this.deadlinePassed(take.waitMs));
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.ceil(take.waitMs)));
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The first waiter still waiting, queries before background work; settled ones are dropped on the way. */
  private head(): Waiter | undefined {
    for (const queue of [this.queries, this.background]) {
      while (queue.length > 0 && queue[0]!.settled) queue.shift();
      if (queue.length > 0) return queue[0];
    }
    return undefined;
  }

  private settle(waiter: Waiter, error?: Error): void {
    if (waiter.settled) return;
    waiter.settled = true;
    clearTimeout(waiter.timer);
    if (error) waiter.reject(error);
    else waiter.resolve();
  }

  private deadlinePassed(nextTokenInMs?: number): SourceTimeoutError {
    const when = nextTokenInMs === undefined ? '' : ` (next request allowed in ${Math.ceil(nextTokenInMs)} ms)`;
    return new SourceTimeoutError(this.source, `the query's deadline passes before the source's rate limit lets the call out${when}`);
  }
}

export function withRateLimit(limiter: SourceRateLimiter): Interceptor {
  return (next) => async (call) => {
    await limiter.acquire(call);
    return next(call);
  };
}
