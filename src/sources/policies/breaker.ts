// A circuit breaker per source: opens on a failure rate over a rolling window, fails fast while open, probes to close.
import { BrokenCircuitError, CircuitState, circuitBreaker, handleWhen, type CircuitBreakerPolicy, type IBreaker } from 'cockatiel';
import type { Logger } from 'pino';
import { CircuitOpenError, isOutage } from '../errors.js';
import type { Interceptor, SourceCall } from './call.js';
import { RollingWindow } from './rolling-window.js';

export interface BreakerOptions {
  /** Share of failed calls in the window (0 < rate ≤ 1) at which the circuit opens. */
  failureRate: number;
  windowMs: number;
  /** Calls the window must hold before its failure rate counts, so two unlucky calls do not open it. */
  minimumRequests: number;
  /** How long the circuit stays open before one probe call may test the source. */
  halfOpenAfterMs: number;
}

export type CircuitStatus = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

const STATUS: Record<CircuitState, CircuitStatus> = {
  [CircuitState.Closed]: 'CLOSED',
  [CircuitState.Open]: 'OPEN',
  [CircuitState.HalfOpen]: 'HALF_OPEN',
  // Manual isolation is not used by the hub; it behaves as open.
  [CircuitState.Isolated]: 'OPEN',
};

/** cockatiel's state machine asks this when to open: a time-based failure rate, unlike its SamplingBreaker never stale after idle. */
export class FailureRateBreaker implements IBreaker {
  private readonly window: RollingWindow;

  constructor(private readonly options: BreakerOptions) {
    this.window = new RollingWindow(options.windowMs);
  }

  // The hub does not persist breaker state across restarts, so there is nothing to serialise.
  get state(): unknown {
    return null;
  }
  set state(_ignored: unknown) {}

  success(state: CircuitState): void {
    // A successful probe closes the circuit: the failures that opened it must not reopen it at once.
    if (state === CircuitState.HalfOpen) this.window.reset();
    this.window.record(true);
  }

  failure(state: CircuitState): boolean {
    this.window.record(false);
    if (state !== CircuitState.Closed) return true;
    const { successes, failures } = this.window.counts();
    const total = successes + failures;
    return total >= this.options.minimumRequests && failures >= this.options.failureRate * total;
  }
}

/** One source's breaker: shared by every request to that source, its state changes logged. */
export class SourceBreaker {
  private readonly policy: CircuitBreakerPolicy;

  constructor(
    readonly source: string,
    options: BreakerOptions,
    logger: Logger,
  ) {
    // Only outages count (timeouts, connection failures, 5xx, 429): a malformed record is not a reason to stop calling.
    this.policy = circuitBreaker(handleWhen(isOutage), { halfOpenAfter: options.halfOpenAfterMs, breaker: new FailureRateBreaker(options) });
    let previous: CircuitStatus = 'CLOSED';
    this.policy.onStateChange((state) => {
      const next = STATUS[state];
      const last = this.policy.lastFailure;
      const cause = next === 'OPEN' && last && 'error' in last && isOutage(last.error) ? { cause: last.error.code, detail: last.error.detail } : {};
      const log = { source, from: previous, to: next, ...cause };
      if (next === 'OPEN') logger.warn(log, `circuit of source "${source}" opened: failing fast for ${options.halfOpenAfterMs} ms`);
      else logger.info(log, `circuit of source "${source}" ${next === 'CLOSED' ? 'closed' : 'half-open: probing'}`);
      previous = next;
    });
  }

  get status(): CircuitStatus {
    return STATUS[this.policy.state];
  }

  async execute<T>(run: () => Promise<T>, call: SourceCall): Promise<T> {
    try {
      // cockatiel reads the signal only when the circuit is not closed (a call that waited on the half-open probe and
      // was cancelled meanwhile is not sent): a closed circuit leaves the deadline's signal unbuilt.
      return await (this.policy.state === CircuitState.Closed ? this.policy.execute(run) : this.policy.execute(run, call.signal));
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError(this.source, 'circuit open: call not sent', { cause: error });
      throw error;
    }
  }
}

export function withCircuitBreaker(breaker: SourceBreaker): Interceptor {
  return (next) => (call) => breaker.execute(() => next(call), call);
}
