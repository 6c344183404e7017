// OpenTelemetry tracing, off unless the standard OTEL_* variables ask for it: a span per operation and per upstream call.
import { context, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { UpstreamCall } from '../sources/http-client.js';

type Environment = Readonly<Record<string, string | undefined>>;

const TRACER_NAME = 'rosetta';

/** Whether the environment configures an exporter; OTEL_SDK_DISABLED=true wins, as the spec says. */
export function tracingRequested(env: Environment): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  return Boolean(env.OTEL_TRACES_EXPORTER && env.OTEL_TRACES_EXPORTER !== 'none') || Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface TracingHandle {
  shutdown(): Promise<void>;
}

/** Starts the OpenTelemetry Node SDK, which reads every OTEL_* variable itself; null when tracing is not asked for. */
export async function startTracingFromEnv(env: Environment = process.env): Promise<TracingHandle | null> {
  if (!tracingRequested(env)) return null;
  // Loaded only when wanted: the SDK is large and most runs do not trace.
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({ serviceName: env.OTEL_SERVICE_NAME ?? 'rosetta' });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}

/** Spans of one GraphQL operation; with no tracer provider registered every call here is a cheap no-op. */
export class OperationTrace {
  private readonly span: Span;
  private readonly tracer: Tracer;

  constructor(requestId: string, tracer: Tracer = trace.getTracer(TRACER_NAME)) {
    this.tracer = tracer;
    this.span = tracer.startSpan('graphql.operation', { kind: SpanKind.SERVER, attributes: { 'rosetta.request_id': requestId } });
  }

  get recording(): boolean {
    return this.span.isRecording();
  }

  named(operationName: string | null, operationType: string | undefined): void {
    const name = operationName ?? 'anonymous';
    this.span.updateName(`${operationType ?? 'graphql'} ${name}`);
    this.span.setAttributes({ 'graphql.operation.name': name, ...(operationType ? { 'graphql.operation.type': operationType } : {}) });
  }

  /** Upstream calls are reported when they end, so their span is made with the start time they had. */
  upstream(call: UpstreamCall): void {
    if (!this.recording) return;
    const parent = trace.setSpan(context.active(), this.span);
    const end = Date.now();
    const span = this.tracer.startSpan(
      `${call.source} ${call.operation}`,
      {
        kind: SpanKind.CLIENT,
        startTime: end - call.ms,
        attributes: {
          'rosetta.source': call.source,
          'rosetta.operation': call.operation,
          'rosetta.keys': call.keys,
          ...(typeof call.status === 'number' ? { 'http.response.status_code': call.status } : {}),
          ...(call.errorCode ? { 'error.type': call.errorCode } : {}),
        },
      },
      parent,
    );
    if (call.errorCode) span.setStatus({ code: SpanStatusCode.ERROR, message: call.errorCode });
    span.end(end);
  }

  end(outcome: 'success' | 'partial' | 'error'): void {
    this.span.setAttribute('rosetta.outcome', outcome);
    if (outcome === 'error') this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.end();
  }
}
