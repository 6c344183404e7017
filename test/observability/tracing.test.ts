// OpenTelemetry: off unless OTEL_* asks for it; when on, one span per operation and one per upstream call beneath it.
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTracingFromEnv, tracingRequested } from '../../src/observability/tracing.js';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

const exporter = new InMemorySpanExporter();
let t: TestHub;
beforeAll(async () => {
  // This file runs in its own worker, so the global provider is this test's alone.
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  t = await startTestHub({ people: 100, seed: 9 });
});
afterAll(() => t.close());

describe('tracing', () => {
  test.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }, false],
  ])('the environment %j asks for tracing: %s', (env, expected) => {
    expect(tracingRequested(env)).toBe(expected);
  });

  test('with no OTEL_* variables the SDK is not started', async () => {
    expect(await startTracingFromEnv({})).toBeNull();
  });

  test('an operation is one server span with a client span per upstream call beneath it', async () => {
    exporter.reset();
    t.resetStats();
    const response = await t.graphql('query Context { customers(first: 10) { edges { node { profile { email } tickets { id } } } } }');
    expect(response.errors).toBeUndefined();
    const spans = exporter.getFinishedSpans();
    const operations = spans.filter((s) => s.name === 'query Context');
    expect(operations).toHaveLength(1);
    const operation = operations[0]!;
    expect(operation.attributes).toMatchObject({ 'graphql.operation.name': 'Context', 'rosetta.outcome': 'success' });
    const upstream = spans.filter((s) => s !== operation);
    expect(upstream).toHaveLength(t.systems.totalRequests());
    for (const span of upstream) {
      expect(span.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
      expect(span.spanContext().traceId).toBe(operation.spanContext().traceId);
    }
    expect(upstream.map((s) => s.name)).toContain('crm contact.batch');
    expect(upstream.find((s) => s.name === 'crm contact.batch')!.attributes).toMatchObject({ 'rosetta.source': 'crm', 'http.response.status_code': 200 });
  });
});
