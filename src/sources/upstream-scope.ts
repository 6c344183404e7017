// What every upstream call carries (deadline, observer, call budget), apart from the connector that reads and the
// writer that writes, so both take it from here and neither imports the other for it.
import type { CallObserver } from './http-client.js';
import type { Deadline } from './policies/deadline.js';

/** The upstream calls a request may still make (`limits.maxUpstreamCalls`): `spend` throws UpstreamBudgetExceededError past them. */
interface CallBudget {
  spend(source: string, calls: number): void;
}

/** What every upstream call a query (or a sync, a probe, a refresh) makes carries: its time budget and who is told of each call. */
export interface UpstreamScope {
  /** Without one, only the per-request timeout bounds the call (the link sync). */
  deadline?: Deadline;
  /** Told of every upstream call, for explain and metrics. */
  observe?: CallObserver;
  /**
   * The request's call budget. Spent by whoever decides a call is made, before it goes out (the request loaders per
   * batch, on-demand lookups per search or lookup), never by the connector, so nothing is counted twice.
   */
  budget?: CallBudget;
}
