// Per-caller fairness (`limits.perCaller`): how many requests one caller (API key, JWT subject, or IP address on an
// open hub) may have in flight, and how many it may start per second, so one caller cannot starve the others.
// This is the count, shared by every request of the process (HubServices.callerLimits); the Apollo plugin that
// refuses a request over it is server/caller-limits.ts.
import { LRUCache } from 'lru-cache';
import type { LimitsSection } from '../config/schema.js';

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
