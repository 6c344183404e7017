// A circuit breaker per source: opens on a failure rate over a rolling window, fails fast while open, probes to close.
import { BrokenCircuitError, CircuitState, circuitBreaker, handleWhen, type CircuitBreakerPolicy, type IBackoff, type IBreaker, type IHalfOpenAfterBackoffContext } from 'cockatiel';
import type { Logger } from 'pino';
import { CircuitOpenError, SourceError, isOutage, requestedRetryDelayMs } from '../errors.js';
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
  /** The longest `Retry-After` honoured: the circuit stays open for max(halfOpenAfterMs, Retry-After) up to this. */
  maxRetryAfterMs: number;
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
class FailureRateBreaker implements IBreaker {
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

/**
 * How long the circuit stays open, decided each time it opens: `halfOpenAfterMs`, or longer when the failure that
 * opened it carried a `Retry-After` (a 429 or 503 asking the hub to stay away): probing a source every few seconds
 * against `Retry-After: 3600` only spends the budget it asked the hub to save. The breaker learns the moment the
 * circuit opens from here, so its state can follow the clock (see `SourceBreaker.status`).
 */
class OpenDuration implements IBackoff<IHalfOpenAfterBackoffContext> {
  constructor(
    private readonly options: BreakerOptions,
    private readonly onOpen: (durationMs: number) => void,
    readonly duration = options.halfOpenAfterMs,
  ) {}

  next(context: IHalfOpenAfterBackoffContext): OpenDuration {
    const error = 'error' in context.result ? context.result.error : undefined;
    const requested = error instanceof SourceError ? requestedRetryDelayMs(error) : undefined;
    const durationMs = Math.max(this.options.halfOpenAfterMs, Math.min(requested ?? 0, this.options.maxRetryAfterMs));
    this.onOpen(durationMs);
    return new OpenDuration(this.options, this.onOpen, durationMs);
  }
}

/** One source's breaker: shared by every request to that source, its state changes logged. */
export class SourceBreaker {
  private readonly policy: CircuitBreakerPolicy;
  /** When the open circuit lets a probe through (epoch ms); meaningful only while cockatiel says Open. */
  private probeDueAt = 0;

  constructor(
    readonly source: string,
    options: BreakerOptions,
    logger: Logger,
  ) {
    const openFor = new OpenDuration(options, (durationMs) => {
      this.probeDueAt = Date.now() + durationMs;
    });
    // Only outages count (timeouts, connection failures, 5xx, 429): a malformed record is not a reason to stop
    // calling, nor refused credentials (SOURCE_AUTH_FAILED): the source answered, and failing fast would hide why.
    this.policy = circuitBreaker(handleWhen(isOutage), { halfOpenAfter: openFor, breaker: new FailureRateBreaker(options) });
    let previous: CircuitStatus = 'CLOSED';
    this.policy.onStateChange((state) => {
      const next = STATUS[state];
      const last = this.policy.lastFailure;
      const cause = next === 'OPEN' && last && 'error' in last && isOutage(last.error) ? { cause: last.error.code, detail: last.error.detail } : {};
      const log = { source, from: previous, to: next, ...cause };
      if (next === 'OPEN') logger.warn({ ...log, openMs: this.probeDueAt - Date.now() }, `circuit of source "${source}" opened: failing fast for ${this.probeDueAt - Date.now()} ms`);
      else logger.info(log, `circuit of source "${source}" ${next === 'CLOSED' ? 'closed' : 'half-open: probing'}`);
      previous = next;
    });
  }

  /**
   * The state as of now. An open circuit whose time is up is HALF_OPEN even before a call comes to probe it, so
   * `/readyz` and metrics show what the next call will meet, not what the last one met.
   */
  get status(): CircuitStatus {
    const state = this.policy.state;
    if (state === CircuitState.Open && Date.now() >= this.probeDueAt) return 'HALF_OPEN';
    return STATUS[state];
  }

  /** Whether a call made now would be refused without reaching the source (open and not due, or a probe in flight). */
  get refusesCalls(): boolean {
    const state = this.policy.state;
    return state === CircuitState.HalfOpen || (state === CircuitState.Open && Date.now() < this.probeDueAt);
  }

  async execute<T>(run: () => Promise<T>, call: SourceCall): Promise<T> {
    // Half-open means one probe is in flight: every other call fails fast rather than queue behind it (cockatiel
    // would hold them until the probe ends, then send them all at a source that may still be failing).
    if (this.policy.state === CircuitState.HalfOpen) throw new CircuitOpenError(this.source, 'circuit half-open: a probe is in flight; call not sent');
    try {
      // cockatiel reads the signal only when the circuit is not closed: a closed circuit leaves the deadline's signal unbuilt.
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

/** Fails a call at once while the circuit would refuse it, before it waits for a rate-limit token it would waste. */
export function withOpenCircuitFailFast(breaker: SourceBreaker): Interceptor {
  return (next) => (call) => (breaker.refusesCalls ? Promise.reject(new CircuitOpenError(breaker.source, 'circuit open: call not sent')) : next(call));
}
