// Per-caller fairness (`limits.perCaller`) at the door: the plugin that refuses a request whose caller is over its
// concurrency or rate, counted by request/caller-limits.ts.
import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode } from '../errors/catalogue.js';
import type { RequestContext } from '../request/context.js';
import { requestError } from '../request/errors.js';

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
