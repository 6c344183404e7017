// Everything a hub process reports about itself: metrics, logs and traces, wired into Apollo as one plugin.
import type { ApolloServerPlugin } from '@apollo/server';
import type { Logger } from 'pino';
import type { LinkDirectory } from '../identity/directory.js';
import type { UpstreamCall } from '../sources/http-client.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { ExtraRoute } from '../server/http.js';
import type { ExplainPlan } from './explain-plan.js';
import { createLogger } from './logger.js';
import { HubMetrics } from './metrics.js';
import type { OperationTrace } from './tracing.js';

export interface Telemetry {
  metrics: HubMetrics;
  logger: Logger;
}

export function createTelemetry(options: { directory: LinkDirectory; sources: SourceRegistry; logger?: Logger }): Telemetry {
  return { metrics: new HubMetrics(options), logger: options.logger ?? createLogger() };
}

/** What the telemetry plugin needs from a request's context. */
export interface TelemetryContext {
  requestId: string;
  telemetry: Telemetry;
  directory: LinkDirectory;
  explain: ExplainPlan | null;
  trace: OperationTrace;
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
    let operationName = 'anonymous';
    return {
      async didResolveOperation({ operationName: name, operation }) {
        operationName = name ?? 'anonymous';
        contextValue.trace.named(name ?? null, operation?.operation);
      },
      async executionDidStart() {
        const plan = contextValue.explain;
        if (!plan) return;
        return { willResolveField: ({ info }) => plan.enterField(info) };
      },
      async willSendResponse({ response, contextValue: ctx }) {
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
          { requestId: ctx.requestId, operation: operationName, outcome, ms: Math.round(seconds * 1000), errors, status: response.http.status ?? 200 },
          'graphql operation',
        );
      },
    };
  },
};

/** `GET /metrics` in the Prometheus text format. It holds no customer data, so it sits outside auth. */
export function metricsRoute(telemetry: Telemetry): ExtraRoute {
  return {
    method: 'GET',
    match: (path) => (path === '/metrics' ? {} : null),
    async handle(_request, response) {
      const body = await telemetry.metrics.render();
      response.writeHead(200, { 'content-type': telemetry.metrics.contentType });
      response.end(body);
    },
  };
}
