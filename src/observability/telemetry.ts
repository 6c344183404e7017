// Everything a hub process reports about itself: metrics, logs and traces, wired into Apollo as one plugin.
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError } from 'graphql';
import type { MetricsSection } from '../config/schema.js';
import { SourceError } from '../sources/errors.js';
import { outcomeOf } from '../errors/secondary-failure.js';
import type { LinkDirectory } from '../identity/directory.js';
import type { UpstreamCall } from '../sources/http-client.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { ExplainPlan } from './explain-plan.js';
import { createLogger } from '../logging/logger.js';
import { HubMetrics } from './metrics.js';
import type { OperationTrace } from './tracing.js';

export interface Telemetry {
  metrics: HubMetrics;
  logger: Logger;
}

export function createTelemetry(options: { directory: LinkDirectory; sources: SourceRegistry; logger?: Logger; metrics?: MetricsSection }): Telemetry {
  return { metrics: new HubMetrics({ ...options, ...(options.metrics ? { labels: options.metrics } : {}) }), logger: options.logger ?? createLogger() };
}

/** What the telemetry plugin needs from a request's context. */
export interface TelemetryContext {
  requestId: string;
  telemetry: Telemetry;
  /** This request's link-cache counts, for the explain report. */
  directory: { readonly hits: number; readonly lookups: number };
  explain: ExplainPlan | null;
  trace: OperationTrace;
  /** The audit plugin's work on the response, awaited so the outcome reported is the one sent. */
  access?: { responseFinal: Promise<void> };
}

/** One observer per request for every upstream call: metrics always, trace and explain when on. */
export function upstreamObserver(context: Omit<TelemetryContext, 'requestId' | 'directory'>): (call: UpstreamCall) => void {
  const { telemetry, explain, trace } = context;
  const tracing = trace.recording;
  return (call) => {
    telemetry.metrics.recordUpstream(call);
    if (tracing) trace.upstream(call);
    explain?.recordCall(call);
  };
}

export const telemetryPlugin: ApolloServerPlugin<TelemetryContext> = {
  async requestDidStart({ contextValue }) {
    const started = performance.now();
    // The client's name, as given: logs and traces keep it, metrics label it only if admitted.
    let operationName: string | null = null;
    return {
      async didResolveOperation({ operationName: name, operation }) {
        operationName = name ?? null;
        contextValue.trace.named(name ?? null, operation?.operation);
      },
      async executionDidStart() {
        const plan = contextValue.explain;
        if (!plan) return;
        return { willResolveField: ({ info }) => plan.enterField(info) };
      },
      async didEncounterErrors({ errors, contextValue: ctx }) {
        // Internal errors reach the client as "internal error" alone (formatError): their cause is logged here, once.
        for (const error of errors) {
          const original = unwrapResolverError(error);
          if (original instanceof GraphQLError || original instanceof SourceError) continue;
          ctx.telemetry.logger.error({ requestId: ctx.requestId, path: error.path?.join('.'), err: original }, 'internal error');
        }
      },
      async willSendResponse({ response, contextValue: ctx }) {
        // Waits for the audit step to settle the response; its rejection is not ours to report: the access plugin
        // returns this same promise to Apollo, which fails the request with it.
        if (ctx.access) await outcomeOf(ctx.access.responseFinal);
        const seconds = (performance.now() - started) / 1000;
        const result = response.body.kind === 'single' ? response.body.singleResult : null;
        // Runs after the partial-errors plugin, so partial source errors are already in the result.
        const errors = result?.errors?.length ?? 0;
        const outcome = errors === 0 ? 'success' : result?.data ? 'partial' : 'error';
        ctx.telemetry.metrics.recordOperation(operationName, outcome, seconds);
        ctx.trace.end(outcome);
        if (result) {
          // The request ID in every error lets a user's bug report be found in the logs.
          if (result.errors) result.errors = result.errors.map((e) => ({ ...e, extensions: { ...e.extensions, requestId: ctx.requestId } }));
          if (ctx.explain) result.extensions = { ...result.extensions, explain: ctx.explain.report(ctx.directory) };
        }
        ctx.telemetry.logger.info(
          { requestId: ctx.requestId, operation: operationName ?? 'anonymous', outcome, ms: Math.round(seconds * 1000), errors, status: response.http.status ?? 200 },
          'graphql operation',
        );
      },
    };
  },
};
