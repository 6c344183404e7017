// Apollo Server plugin that reports partial-source errors beside the data the healthy sources gave.
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestContext } from '../request/context.js';

/** Appends the errors of sources that failed under fields which still returned the other sources' data. */
export const partialErrorsPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        if (response.body.kind !== 'single' || contextValue.partialErrors.length === 0) return;
        const result = response.body.singleResult;
        result.errors = [...(result.errors ?? []), ...contextValue.partialErrors.map((e) => e.toJSON())];
      },
    };
  },
};
