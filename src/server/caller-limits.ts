// Per-caller fairness (`limits.perCaller`): how many requests one caller (API key, JWT subject, or IP address on an
// open hub) may have in flight, and how many it may start per second, so one caller cannot starve the others.
import type { ApolloServerPlugin } from '@apollo/server';
import { LRUCache } from 'lru-cache';
import type { LimitsSection } from '../config/schema.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { RequestContext } from './context.js';
import { requestError } from './errors.js';

interface CallerState {
  inFlight: number;
  /** Token bucket: requests the caller may start now, refilled at `requestsPerSecond`. */
  tokens: number;
  refilledAt: number;
}

export type Refusal = 'concurrency' | 'rate';

export class CallerLimits {
  /** Bounded: a flood of distinct callers (IP addresses) evicts idle ones instead of growing the heap. */
  private readonly callers = new LRUCache<string, CallerState>({ max: 10_000 });

  constructor(
    private readonly limits: NonNullable<LimitsSection['perCaller']>,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A release function when `caller` may start a request now; why not otherwise. */
  acquire(caller: string): (() => void) | Refusal {
    const now = this.now();
    let state = this.callers.get(caller);
    if (!state) {
      state = { inFlight: 0, tokens: this.limits.requestsPerSecond, refilledAt: now };
      this.callers.set(caller, state);
    }
    state.tokens = Math.min(this.limits.requestsPerSecond, state.tokens + ((now - state.refilledAt) / 1000) * this.limits.requestsPerSecond);
    state.refilledAt = now;
    if (state.inFlight >= this.limits.maxConcurrent) return 'concurrency';
    if (state.tokens < 1) return 'rate';
    state.tokens -= 1;
    state.inFlight += 1;
    let released = false;
    const held = state;
    return () => {
      if (released) return;
      released = true;
      held.inFlight -= 1;
    };
  }
}

/** Refuses with 429 RATE_LIMITED a caller over its concurrency or rate; the slot is freed when the response is sent. */
export const callerLimitsPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    let release: (() => void) | null = null;
    return {
      async didResolveOperation({ contextValue }) {
        const limits = contextValue.config.limits.perCaller;
        if (!limits) return;
        const verdict = contextValue.callerLimits.acquire(contextValue.callerKey);
        if (typeof verdict === 'function') {
          release = verdict;
          return;
        }
        const { maxConcurrent, requestsPerSecond } = limits;
        const message = verdict === 'concurrency' ? `more than ${maxConcurrent} requests of this caller at once (limits.perCaller.maxConcurrent)` : `more than ${requestsPerSecond} requests of this caller per second (limits.perCaller.requestsPerSecond)`;
        throw requestError(ErrorCode.RATE_LIMITED, message, {}, new Map([['retry-after', '1']]));
      },
      async willSendResponse() {
        release?.();
      },
    };
  },
};
