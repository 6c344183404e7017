// A source's token bucket as GCRA (the generic cell rate algorithm): one timestamp per bucket, in this process or in Redis.

/** What one try at the bucket gives: a token now, or how long until the next one. */
export type Take = { granted: true } | { granted: false; waitMs: number };

export interface BucketRate {
  requestsPerSecond: number;
  burst: number;
}

/** A bucket shared by every call to one source: in this process, or in a store every replica reads. */
export interface TokenBucket {
  take(): Take | Promise<Take>;
  /** Where the bucket lives now: `LOCAL`, `REDIS`, or `LOCAL_FALLBACK` while the shared store is unreachable. */
  readonly store: 'LOCAL' | 'REDIS' | 'LOCAL_FALLBACK';
}

export const GRANTED: Take = { granted: true };

/**
 * GCRA keeps, instead of a token count, the "theoretical arrival time" (TAT) of the next request at the sustained
 * rate: a request at `now` is allowed while TAT − now ≤ (burst − 1) × interval, and moves TAT one interval on. It is
 * exactly a token bucket of `burst` tokens refilled at `requestsPerSecond` (over any run from idle at most
 * burst + rate × t requests pass), in one number that Redis can update atomically in a script.
 */
export function gcraParameters({ requestsPerSecond, burst }: BucketRate): { intervalMs: number; toleranceMs: number } {
  const intervalMs = 1_000 / requestsPerSecond;
  return { intervalMs, toleranceMs: (burst - 1) * intervalMs };
}

/** The per-process bucket: used when no Redis is configured, and while a configured one is unreachable. */
export class LocalTokenBucket implements TokenBucket {
  readonly store = 'LOCAL' as const;
  private readonly intervalMs: number;
  private readonly toleranceMs: number;
  private theoreticalArrival = -Infinity;

  constructor(
    rate: BucketRate,
    private readonly now: () => number = Date.now,
  ) {
    ({ intervalMs: this.intervalMs, toleranceMs: this.toleranceMs } = gcraParameters(rate));
  }

  take(): Take {
    const now = this.now();
    const arrival = Math.max(this.theoreticalArrival, now);
    const waitMs = arrival - now - this.toleranceMs;
    if (waitMs > 0) return { granted: false, waitMs };
    this.theoreticalArrival = arrival + this.intervalMs;
    return GRANTED;
  }
}
