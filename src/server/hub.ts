// Assembles a running hub from config: sources, link store and cache, Apollo Server and the HTTP surface.
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from 'pino';
import { ExplainPlan } from '../observability/explain-plan.js';
import { createLogger } from '../logging/logger.js';
import { listenMetrics, metricsRoute, type MetricsListener, type MetricsSource } from './metrics-route.js';
import { createTelemetry, telemetryPlugin, upstreamObserver } from '../observability/telemetry.js';
import { OperationTrace, startTracingFromEnv } from '../observability/tracing.js';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { accessPlugin, startAuditRetention } from '../auth/audit.js';
import { createAuthenticator } from '../auth/authenticator.js';
import type { Caller } from '../auth/caller.js';
import { protectSchema } from '../auth/protect-schema.js';
import { RequestAccess } from '../auth/request-access.js';
import { ConfigError } from '../config/load.js';
import type { HubConfig } from '../config/schema.js';
import { SurvivorshipRule } from '../customer/survivorship.js';
import { ChangeFeed, relayCustomerChanges } from '../identity/change-feed.js';
import { LinkDirectory } from '../identity/directory.js';
import { LinkService } from '../identity/link-service.js';
import { relayRecordInvalidations } from '../identity/postgres-record-invalidation.js';
import { PostgresLinkStore } from '../identity/postgres-store.js';
import { SqliteLinkStore } from '../identity/sqlite-store.js';
import type { LinkStore } from '../identity/store.js';
import { RequestLoaders } from '../loaders/request-loaders.js';
import { Deadline } from '../sources/policies/deadline.js';
import { RecordCache } from '../sources/record-cache.js';
import { SourceRegistry } from '../sources/registry.js';
import { resolvers } from '../../resolvers/index.js';
import { withExtensionResolvers } from '../../resolvers/extensions.js';
import { graphExtensions, hubTypeDefs } from '../extensions/graph-extensions.js';
import type { HubServices, RequestContext } from '../request/context.js';
import { corsHandler } from './cors.js';
import { formatError } from '../request/errors.js';
import { subgraphSchema } from './federation.js';
import { listenHttp, type ExtraRoute, type HttpSurface } from './http.js';
import { createQueryGuard, queryLimits } from './limits.js';
import { productionMode } from '../config/mode.js';
import { playgroundEnabled, playgroundRoutes } from '../playground/playground.js';
import { SubscriptionGate } from './subscription-gate.js';
import { attachSubscriptions } from './subscriptions.js';
import { sseSubscriptions } from './subscriptions-sse.js';
import { partialErrorsPlugin } from './partial-errors.js';
import { readinessRoute } from './readiness.js';
import { StoreReadiness } from '../identity/store-readiness.js';
import { CallerLimits } from '../request/caller-limits.js';
import { callerLimitsPlugin } from './caller-limits.js';
import { UpstreamBudget } from '../loaders/upstream-budget.js';
import { upstreamBudgetPlugin } from './upstream-budget.js';
import { webhookRoute } from './webhooks.js';
import { startWriteKeyPruning } from '../writes/key-retention.js';

export async function openLinkStore(config: HubConfig): Promise<LinkStore> {
  switch (config.linkStore.kind) {
    case 'sqlite':
      return new SqliteLinkStore(config.linkStore.path, { forgetSecret: config.identity.forget.secret });
    case 'postgres':
      return PostgresLinkStore.open({ url: config.linkStore.url, schema: config.linkStore.schema, forgetSecret: config.identity.forget.secret });
  }
}

export interface ServicesOptions {
  logger?: Logger;
  /** The record cache's monotonic clock (default `performance.now`): a test moves it past a TTL instead of sleeping. */
  recordCacheClock?: () => number;
}

export function createServices(config: HubConfig, store: LinkStore, options: ServicesOptions = {}): HubServices {
  const logger = options.logger ?? createLogger();
  const registry = new SourceRegistry(config, { logger });
  const directory = new LinkDirectory(store, config.linkCache);
  // Another replica merged or forgot customers: what this one cached of them is stale.
  store.onInvalidate?.((customerIds) => (customerIds === 'all' ? directory.clear() : directory.invalidate(customerIds)));
  const telemetry = createTelemetry({ directory, sources: registry, logger, metrics: config.metrics });
  // Empty unless an entity's config asks for a cache; a background refresh gets the same budget as a query.
  const recordCache = new RecordCache(registry, { metrics: telemetry.metrics, logger, refreshDeadlineMs: config.server.queryDeadlineMs, ...(options.recordCacheClock ? { now: options.recordCacheClock } : {}) });
  // A webhook reaches one replica; the others' caches of the same records are stale too.
  if (store.recordInvalidations) relayRecordInvalidations(recordCache, store.recordInvalidations, logger);
  const changes = new ChangeFeed();
  // Changes other replicas applied reach this one's subscribers; PostgreSQL carries them (NOTIFY), SQLite has no peers.
  if (store.customerChanges) relayCustomerChanges(changes, store.customerChanges, telemetry);
  const links = new LinkService(config, registry, directory, recordCache, undefined, changes);
  telemetry.metrics.observeLinkInputs(links.counters);
  return {
    config,
    registry,
    directory,
    // The store itself, typed as the few reads and writes requests make of it besides the directory and link service.
    linkTable: store,
    auditLog: store,
    writeReceipts: store,
    recordCache,
    changes,
    links,
    survivorship: new SurvivorshipRule(config.survivorship.sourcePriority, graphExtensions(config).profileFields),
    telemetry,
    storeReadiness: new StoreReadiness(store, logger),
    callerLimits: new CallerLimits(config.limits.perCaller ?? { maxConcurrent: Number.POSITIVE_INFINITY, requestsPerSecond: Number.POSITIVE_INFINITY }),
  };
}

/** `source.entity` of every entity whose config says its record IDs are personal data (`idIsPersonal`). */
function personalRecordIds(config: HubConfig): Set<string> {
  return new Set(Object.entries(config.sources).flatMap(([source, { entities }]) => Object.entries(entities).flatMap(([entity, e]) => (e.idIsPersonal ? [`${source}.${entity}`] : []))));
}

/**
 * The schema every operation runs on, queries over HTTP and subscriptions over WebSocket alike. The access directives
 * (@pii, @restricted, @consented, @audited) are enforced here, once, by wrapping resolvers. Federation mode builds the
 * same SDL and resolvers as a subgraph, so the protection applies to `_entities` too.
 */
export function hubSchema(config: HubConfig): GraphQLSchema {
  // Extension SDL (schema.extensions) joins the core SDL, and its fields' resolvers the core resolvers, before either
  // mode builds the schema: access directives, limits, federation and explain then treat them as any core field.
  const extensions = graphExtensions(config);
  const typeDefs = hubTypeDefs(extensions);
  const all = withExtensionResolvers(resolvers, extensions);
  return protectSchema(config.federation.enabled ? subgraphSchema(typeDefs, all) : makeExecutableSchema({ typeDefs, resolvers: all as never }), {
    personalRecordIds: personalRecordIds(config),
  });
}

function createApollo(config: HubConfig, logger?: Logger, schema: GraphQLSchema = hubSchema(config)): ApolloServer<RequestContext> {
  const { plugins: limitPlugins, ...limits } = queryLimits(config);
  return new ApolloServer<RequestContext>({
    // Apollo's own messages (an audit write that failed) go to the hub's JSON log, not to the console.
    ...(logger ? { logger } : {}),
    schema,
    formatError,
    includeStacktraceInErrorResponses: false,
    // Apollo stops itself on SIGINT/SIGTERM and then re-sends the signal (exit 143) unless NODE_ENV=test, cutting off
    // every request in flight; the hub's own drain (src/cli/signals.ts, cluster-worker.ts) owns the signals instead.
    stopOnTerminationSignals: false,
    ...limits,
    // Telemetry last: it counts the errors the plugins before it added.
    // Apollo's own landing page loads from a CDN: browsers get the hub's offline playground instead (src/playground/).
    // Cache control is off: the hub sets no cache hints, and the plugin would still wrap every field's resolution.
    plugins: [partialErrorsPlugin, accessPlugin, ...limitPlugins, callerLimitsPlugin, upstreamBudgetPlugin, ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled(), telemetryPlugin as ApolloServerPlugin<RequestContext>],
  });
}

function requestContext(services: HubServices, requestId: string, explain: boolean, caller: Caller, remoteAddress?: string): RequestContext {
  const plan = explain ? new ExplainPlan() : null;
  const upstreamBudget = new UpstreamBudget(services.config.limits.maxUpstreamCalls);
  const trace = new OperationTrace(requestId);
  // The services are listed rather than spread: a spread context object is built field by field on every request.
  return {
    config: services.config,
    registry: services.registry,
    // Explain reports this request's link-cache lookups alone, so it gets a view that counts them apart.
    directory: plan ? services.directory.forRequest() : services.directory,
    linkTable: services.linkTable,
    auditLog: services.auditLog,
    writeReceipts: services.writeReceipts,
    recordCache: services.recordCache,
    links: services.links,
    survivorship: services.survivorship,
    telemetry: services.telemetry,
    storeReadiness: services.storeReadiness,
    callerLimits: services.callerLimits,
    changes: services.changes,
    // On an open hub every caller is "anonymous": its address is what tells one from another.
    callerKey: caller.via === 'open' ? `ip:${remoteAddress ?? 'unknown'}` : caller.id,
    upstreamBudget,
    requestId,
    explain: plan,
    trace,
    partialErrors: [],
    caller,
    // An open hub cannot say who read what, so only authenticated reads are audited.
    access: new RequestAccess(caller, requestId, services.directory.store, caller.via !== 'open'),
    loaders: new RequestLoaders(services.registry, upstreamObserver({ telemetry: services.telemetry, explain: plan, trace }), Deadline.after(services.config.server.queryDeadlineMs), {
      cache: services.recordCache,
      budget: upstreamBudget,
      ...(plan ? { onCacheLookup: (lookup) => plan.recordCacheLookup(lookup) } : {}),
    }),
  };
}

export interface RunningHub {
  services: HubServices;
  url: string;
  /** Where /metrics is served: the GraphQL port, or `metrics.port`. */
  metricsUrl: string;
  /** The HTTP server, for a caller that drains it before `close` (a cluster worker). */
  server: HttpSurface['server'];
  close(): Promise<void>;
}

export interface StartHubOptions extends ServicesOptions {
  store?: LinkStore;
  /**
   * Runs once the services exist, before the hub listens (a cluster worker wires its relay here); the routes it
   * returns are tried before the hub's own.
   */
  extend?: (services: HubServices) => readonly ExtraRoute[];
  /** What /metrics serves; default: this process's registry (a cluster worker serves every worker's, aggregated). */
  metrics?: MetricsSource;
}

export async function startHub(config: HubConfig, options: StartHubOptions = {}): Promise<RunningHub> {
  if (!config.auth && productionMode(config)) {
    throw new ConfigError([{ path: 'auth', message: 'production mode needs an auth section: an open hub shows every customer to anyone who can reach it' }]);
  }
  const authenticate = createAuthenticator(config.auth);
  const tracing = await startTracingFromEnv();
  const services = createServices(config, options.store ?? (await openLinkStore(config)), {
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.recordCacheClock ? { recordCacheClock: options.recordCacheClock } : {}),
  });
  const extraRoutes = options.extend?.(services) ?? [];
  const schema = hubSchema(config);
  const apollo = createApollo(config, services.telemetry.logger, schema);
  await apollo.start();
  const metrics = metricsRoute(options.metrics ?? (async () => ({ text: await services.telemetry.metrics.render(), contentType: services.telemetry.metrics.contentType })), config.metrics, services.telemetry.logger);
  const guardQuery = createQueryGuard(config.limits);
  const cors = config.server.cors ? corsHandler(config.server.cors) : undefined;
  // One gate for both subscription transports: a caller's bound counts its WebSocket and SSE subscriptions together.
  const gate = config.server.subscriptions.enabled
    ? new SubscriptionGate({ schema, services, authenticate, guardQuery, makeContext: (requestId, explain, caller) => requestContext(services, requestId, explain, caller) })
    : null;
  const sse = gate ? sseSubscriptions(gate, { maxBodyBytes: config.limits.maxBodyBytes, logger: services.telemetry.logger, ...(cors ? { cors } : {}) }) : null;
  let http: HttpSurface;
  let metricsListener: MetricsListener | null = null;
  try {
    // On a port of its own, /metrics is not served on the public GraphQL port at all.
    if (config.metrics.port !== undefined) metricsListener = await listenMetrics(config.server.host, config.metrics.port, metrics, services.telemetry.logger);
    http = await listenHttp(apollo, (request, requestId, caller) => requestContext(services, requestId, request.headers['x-rosetta-explain'] === '1', caller, request.socket.remoteAddress), {
      host: config.server.host,
      port: config.server.port,
      authenticate,
      maxBodyBytes: config.limits.maxBodyBytes,
      guardQuery,
      logger: services.telemetry.logger,
      ...(cors ? { cors } : {}),
      routes: [...extraRoutes, ...(sse?.routes ?? []), webhookRoute(services), readinessRoute(services), ...(metricsListener ? [] : [metrics]), ...(playgroundEnabled(config) ? playgroundRoutes(services) : [])],
    });
  } catch (error) {
    await metricsListener?.close();
    await apollo.stop();
    throw error;
  }
  const subscriptions = gate ? attachSubscriptions(http.server, gate, services) : null;
  // The hub's drain (http-drain.ts) announces itself: open event streams would keep it waiting.
  if (sse) http.server.on('draining', () => sse.close());
  // Expired idempotency keys would only take room: a key is honoured until its expiry whether pruned or not.
  const stopWriteKeyPruning = startWriteKeyPruning(services.directory.store, (error) => services.telemetry.logger.error({ err: error }, 'pruning expired write receipts failed; retried in an hour'));
  const stopAuditRetention = config.auth ? startAuditRetention(services.directory.store, config.auth.audit.retentionDays, (error) => services.telemetry.logger.error({ err: error }, 'audit pruning failed; retried in an hour')) : () => {};
  return {
    services,
    url: http.url,
    metricsUrl: metricsListener?.url ?? http.url.replace(/\/graphql$/, '/metrics'),
    server: http.server,
    async close() {
      stopAuditRetention();
      stopWriteKeyPruning();
      await subscriptions?.close();
      sse?.close();
      await http.close();
      await metricsListener?.close();
      await apollo.stop();
      await services.registry.close();
      await services.directory.store.close();
      await tracing?.shutdown();
    },
  };
}
