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

export type Dispatch<T> = (call: SourceCall) => Promise<T>;

/** Wraps a dispatch with one behaviour (retry, breaker, bulkhead, timeout), like an undici interceptor. */
export type Interceptor = <T>(next: Dispatch<T>) => Dispatch<T>;

/** The first interceptor is the outermost: `compose(retry, breaker)(send)` retries calls that pass the breaker. */
export function compose(...interceptors: readonly Interceptor[]): Interceptor {
  return <T>(dispatch: Dispatch<T>) => interceptors.reduceRight<Dispatch<T>>((next, interceptor) => interceptor(next), dispatch);
}
