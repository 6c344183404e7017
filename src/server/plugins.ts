// Apollo Server plugins of the hub: partial-source errors and the opt-in explain extension.
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestContext } from './context.js';

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

/** With `x-rosetta-explain: 1`, `extensions.explain.upstream` lists every upstream call the query caused. */
export const explainPlugin: ApolloServerPlugin<RequestContext> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response, contextValue }) {
        if (response.body.kind !== 'single' || contextValue.explain === null) return;
        const result = response.body.singleResult;
        result.extensions = { ...result.extensions, explain: { upstream: contextValue.explain } };
      },
    };
  },
};
