// Prometheus metrics of one hub process (prom-client), on a registry of its own so tests and replicas never share one.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LinkDirectory } from '../identity/directory.js';
import type { LinkCounters } from '../identity/link-counters.js';
import type { UpstreamCall } from '../sources/http-client.js';
import type { CacheResult } from '../sources/record-cache.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { MetricsSection } from '../config/schema.js';
import { OperationLabels } from './operation-labels.js';

const CIRCUIT_STATES = ['CLOSED', 'OPEN', 'HALF_OPEN'] as const;

export class HubMetrics {
  readonly registry = new Registry();
  private readonly upstreamRequests = new Counter({
    name: 'rosetta_upstream_requests_total',
    help: 'Upstream HTTP requests by source, operation and outcome (HTTP status class or error code).',
    labelNames: ['source', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: 'rosetta_upstream_errors_total',
    help: 'Failed upstream requests by source and error code.',
    labelNames: ['source', 'code'] as const,
    registers: [this.registry],
  });
  private readonly upstreamSeconds = new Histogram({
    name: 'rosetta_upstream_request_duration_seconds',
    help: 'Upstream request latency by source and operation.',
    labelNames: ['source', 'operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  private readonly batchSize = new Histogram({
    name: 'rosetta_upstream_batch_size',
    help: 'Keys carried by one upstream request, by source and operation.',
    labelNames: ['source', 'operation'] as const,
    buckets: [1, 2, 5, 10, 25, 50, 100, 250],
    registers: [this.registry],
  });
  private readonly operations = new Counter({
    name: 'rosetta_graphql_operations_total',
    help: 'GraphQL operations by operation name and outcome (success, partial, error).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly operationSeconds = new Histogram({
    name: 'rosetta_graphql_operation_duration_seconds',
    help: 'GraphQL operation latency by operation name.',
    labelNames: ['operation'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly recordCacheLookupCount = new Counter({
    name: 'rosetta_record_cache_lookups_total',
    help: 'Record-cache lookups (one per key) by source, entity and result: fresh, stale (served and refreshed in the background), miss (read from the source) or shared (a miss that joined a read already in flight).',
    labelNames: ['source', 'entity', 'result'] as const,
    registers: [this.registry],
  });
  private readonly recordCacheRefreshCount = new Counter({
    name: 'rosetta_record_cache_refreshes_total',
    help: 'Background refreshes of stale cached records (one per key) by source, entity and outcome (ok, failed).',
    labelNames: ['source', 'entity', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly sourceValueCount = new Counter({
    name: 'rosetta_source_values_unfit_total',
    help: 'Source values that did not fit their field\'s GraphQL type, by source, field (schema coordinate) and outcome: invalid (answered null with a SOURCE_VALUE_INVALID error) or unknown (an enum value answered UNKNOWN).',
    labelNames: ['source', 'field', 'outcome'] as const,
    registers: [this.registry],
  });

  private readonly operationLabels: OperationLabels;

  private readonly subscriptionsActive = new Gauge({
    name: 'rosetta_subscriptions_active',
    help: 'GraphQL subscriptions open now (graphql-ws and server-sent events).',
    registers: [this.registry],
  });
  private readonly subscriptionEvents = new Counter({
    name: 'rosetta_subscription_events_total',
    help: 'Customer change events by outcome: delivered to a subscriber, or withheld (its rate limit, or a client reading too slowly).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly subscriptionRefusals = new Counter({
    name: 'rosetta_subscription_refusals_total',
    help: 'Subscription connections and operations refused, by reason (unauthenticated, forbidden, limit, invalid).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(options: { directory: LinkDirectory; sources: SourceRegistry; processMetrics?: boolean; labels?: Pick<MetricsSection, 'operationNames' | 'maxOperationNames'> }) {
    this.operationLabels = new OperationLabels(options.labels ?? { maxOperationNames: 100 });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'rosetta_' });
    const { directory, sources } = options;
    // Read at scrape time from the objects that own the state, so nothing has to remember to update them.
    new Gauge({
      name: 'rosetta_link_cache_lookups',
      help: 'Link-cache lookups since start, by result (hit or miss).',
      labelNames: ['result'] as const,
      registers: [this.registry],
      collect() {
        this.set({ result: 'hit' }, directory.hits);
        this.set({ result: 'miss' }, directory.lookups - directory.hits);
      },
    });
    new Gauge({
      name: 'rosetta_source_circuit_state',
      help: 'Circuit breaker state per source: 1 for the current state (CLOSED, OPEN, HALF_OPEN), 0 for the others.',
      labelNames: ['source', 'state'] as const,
      registers: [this.registry],
      collect() {
        for (const connector of sources.connectors.values()) {
          const current = connector.client.health().circuit;
          for (const state of CIRCUIT_STATES) this.set({ source: connector.name, state }, state === current ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'rosetta_source_in_flight_requests',
      help: 'Requests to the source in flight now (bulkhead occupancy).',
      labelNames: ['source'] as const,
      registers: [this.registry],
      collect() {
        for (const connector of sources.connectors.values()) this.set({ source: connector.name }, connector.client.health().inFlight);
      },
    });
    new Gauge({
      name: 'rosetta_source_auth_failed',
      help: "1 while the source refuses the hub's credentials (its last answer about them was a 401/403, or its OAuth2 token endpoint refused), else 0.",
      labelNames: ['source'] as const,
      registers: [this.registry],
      collect() {
        for (const connector of sources.connectors.values()) this.set({ source: connector.name }, connector.client.health().auth === 'FAILED' ? 1 : 0);
      },
    });
    const shared = sources.sharedRateLimits;
    if (shared) {
      new Gauge({
        name: 'rosetta_rate_limit_store_up',
        help: 'Whether the Redis holding the sources\' shared rate-limit buckets answers (1) or each process falls back to its own buckets (0).',
        registers: [this.registry],
        collect() {
          this.set(shared.state === 'unreachable' ? 0 : 1);
        },
      });
      new Gauge({
        name: 'rosetta_rate_limit_store_fallbacks',
        help: 'Rate-limit token takes answered by a per-process bucket because Redis failed them, since start.',
        registers: [this.registry],
        collect() {
          this.set(shared.fallbacks);
        },
      });
    }
  }

  recordUpstream(call: UpstreamCall): void {
    const outcome = call.errorCode ?? (typeof call.status === 'number' ? `${Math.floor(call.status / 100)}xx` : 'error');
    this.upstreamRequests.inc({ source: call.source, operation: call.operation, outcome });
    if (call.errorCode) this.upstreamErrors.inc({ source: call.source, code: call.errorCode });
    this.upstreamSeconds.observe({ source: call.source, operation: call.operation }, call.ms / 1000);
    if (call.keys > 0) this.batchSize.observe({ source: call.source, operation: call.operation }, call.keys);
  }

  recordCacheLookups(source: string, entity: string, result: CacheResult, keys: number): void {
    this.recordCacheLookupCount.inc({ source, entity, result }, keys);
  }

  recordCacheRefreshes(source: string, entity: string, outcome: 'ok' | 'failed', keys: number): void {
    this.recordCacheRefreshCount.inc({ source, entity, outcome }, keys);
  }

  recordUnfitValue(source: string, field: string, outcome: 'invalid' | 'unknown'): void {
    this.sourceValueCount.inc({ source, field, outcome });
  }

  /** `name` is the client's operation name, labelled only if admitted (operation-labels.ts). */
  recordOperation(name: string | null, outcome: 'success' | 'partial' | 'error', seconds: number): void {
    const operation = this.operationLabels.labelOf(name);
    this.operations.inc({ operation, outcome });
    this.operationSeconds.observe({ operation }, seconds);
  }

  subscriptionOpened(): void {
    this.subscriptionsActive.inc();
  }

  subscriptionClosed(): void {
    this.subscriptionsActive.dec();
  }

  recordSubscriptionEvents(outcome: 'delivered' | 'withheld', count = 1): void {
    this.subscriptionEvents.inc({ outcome }, count);
  }

  recordSubscriptionRefusal(reason: 'unauthenticated' | 'forbidden' | 'limit' | 'invalid'): void {
    this.subscriptionRefusals.inc({ reason });
  }

  /** Exposes the link table's input counts (read at scrape time from the counters LinkService keeps). */
  observeLinkInputs(counters: LinkCounters): void {
    new Gauge({
      name: 'rosetta_link_changes',
      help: 'Record changes since start, by outcome: applied (reached the planner), stale (not newer than the table: ignored), replay (webhook deliveries refused as replays).',
      labelNames: ['outcome'] as const,
      registers: [this.registry],
      collect() {
        this.set({ outcome: 'applied' }, counters.applied);
        this.set({ outcome: 'stale' }, counters.stale);
        this.set({ outcome: 'replay' }, counters.replays);
      },
    });
    new Gauge({
      name: 'rosetta_link_invalid_inputs',
      help: 'Inputs refused as invalid since start (never linked or stored), by what was wrong: record_id (empty or over 256 characters), email (over 254), phone (over 32).',
      labelNames: ['input'] as const,
      registers: [this.registry],
      collect() {
        for (const [input, count] of Object.entries(counters.invalid)) this.set({ input }, count);
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

