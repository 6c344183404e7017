// The shape every connector policy shares: a call to one source, and interceptors that wrap its dispatch.
import type { Deadline } from './deadline.js';

/** One logical call to a source, as each policy sees it. */
export interface SourceCall {
  readonly source: string;
  /** Name for logs and explain, e.g. `contact.batch`. */
  readonly operation: string;
  /** Safe to send twice: a GET, or a batch read the source declares idempotent. Only these are retried. */
  readonly idempotent: boolean;
  readonly deadline: Deadline;
  /** Aborts the current attempt: when the deadline passes, or (inside the timeout policy) when the attempt's own time is up. */
  readonly signal: AbortSignal;
}

/**
 * A call cancelled by nothing but its deadline, as the hub makes them. Its signal is the deadline's, read only if a
 * policy needs one (a wait in the bulkhead's queue, a retry's check): the deadline builds it on first use.
 */
export class DeadlineCall implements SourceCall {
  constructor(
    readonly source: string,
    readonly operation: string,
    readonly idempotent: boolean,
    readonly deadline: Deadline,
  ) {}

  get signal(): AbortSignal {
    return this.deadline.signal;
  }
}

/** Whether the call is cancelled already, without building a deadline's signal to find out. */
export function isCancelled(call: SourceCall): boolean {
  return call instanceof DeadlineCall ? call.deadline.expired : call.signal.aborted;
}

/** The call's signal when it is not simply its deadline's (whose time a timer can keep instead), else undefined. */
export function ownSignal(call: SourceCall): AbortSignal | undefined {
  return call instanceof DeadlineCall || call.signal === call.deadline.signal ? undefined : call.signal;
}

/** Which limit cut an attempt off: its own timeout, or the query's deadline (or the caller's signal). */
export type AttemptLimit = 'timeout' | 'deadline';

export type Dispatch<T> = (call: SourceCall) => Promise<T>;

/** Wraps a dispatch with one behaviour (retry, breaker, bulkhead, timeout), like an undici interceptor. */
export type Interceptor = <T>(next: Dispatch<T>) => Dispatch<T>;

/** The first interceptor is the outermost: `compose(retry, breaker)(send)` retries calls that pass the breaker. */
export function compose(...interceptors: readonly Interceptor[]): Interceptor {
  return <T>(dispatch: Dispatch<T>) => interceptors.reduceRight<Dispatch<T>>((next, interceptor) => interceptor(next), dispatch);
}
