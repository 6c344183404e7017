// The upstream-call budget of one request (`limits.maxUpstreamCalls`) as the loaders spend it: every batch a loader
// sends takes its calls from it first, so a request whose estimate (server/upstream-budget.ts) was too low still
// cannot pass the limit. Kept with the loaders, its only spenders, so they need nothing of the server.
import type { EntityReader } from '../sources/connector.js';
import { UpstreamBudgetExceededError } from '../sources/errors.js';

/** Calls spent so far by one request; `spend` refuses a call that would pass the limit. */
export class UpstreamBudget {
  private spent = 0;
  constructor(readonly limit: number) {}

  static unlimited(): UpstreamBudget {
    return new UpstreamBudget(Number.POSITIVE_INFINITY);
  }

  /** Takes `calls` from the budget for `source`, or throws without taking any. */
  spend(source: string, calls: number): void {
    if (this.spent + calls > this.limit) throw new UpstreamBudgetExceededError(source, `${calls} more calls would pass the request's budget of ${this.limit} (${this.spent} spent)`);
    this.spent += calls;
  }

  get used(): number {
    return this.spent;
  }
}

/** Calls a loader of `reader` makes for `keys` keys: one per batch, or one per key without a batch endpoint. */
export function callsFor(reader: EntityReader, keys: number): number {
  return Math.ceil(keys / reader.keysPerCall);
}
