// Assembles a running hub from config: sources, link store and cache, Apollo Server and the HTTP surface.
import { ApolloServer } from '@apollo/server';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { accessPlugin, startAuditRetention } from '../auth/audit.js';
import { createAuthenticator } from '../auth/authenticator.js';
import type { Caller } from '../auth/caller.js';
import { protectSchema } from '../auth/protect-schema.js';
import { RequestAccess } from '../auth/request-access.js';
import { ConfigError } from '../config/load.js';
import type { HubConfig } from '../config/schema.js';
import { SurvivorshipRule } from '../customer/survivorship.js';
import { LinkDirectory } from '../identity/directory.js';
import { LinkService } from '../identity/link-service.js';
import { SqliteLinkStore } from '../identity/sqlite-store.js';
import type { LinkStore } from '../identity/store.js';
import { RequestLoaders } from '../loaders/request-loaders.js';
import { Deadline } from '../sources/policies/deadline.js';
import { SourceRegistry } from '../sources/registry.js';
import { resolvers } from '../../resolvers/index.js';
import type { HubServices, RequestContext } from './context.js';
import { formatError } from './errors.js';
import { listenHttp, type HttpSurface } from './http.js';
import { productionMode, queryLimits } from './limits.js';
import { explainPlugin, partialErrorsPlugin } from './plugins.js';
import { readinessRoute } from './readiness.js';
import { loadTypeDefs } from './schema.js';
import { webhookRoute } from './webhooks.js';

export function openLinkStore(config: HubConfig): LinkStore {
  switch (config.linkStore.kind) {
    case 'sqlite':
      return new SqliteLinkStore(config.linkStore.path);
  }
}

export function createServices(config: HubConfig, store: LinkStore = openLinkStore(config)): HubServices {
  const registry = new SourceRegistry(config);
  const directory = new LinkDirectory(store, config.linkCache);
  return {
    config,
    registry,
    directory,
    links: new LinkService(config, registry, directory),
    survivorship: new SurvivorshipRule(config.survivorship.sourcePriority),
  };
}

export function createApollo(config: HubConfig): ApolloServer<RequestContext> {
  const { plugins: limitPlugins, ...limits } = queryLimits(config);
  return new ApolloServer<RequestContext>({
    // The schema's access directives (@pii, @restricted, @consented, @audited) are enforced here, once, by wrapping resolvers.
    schema: protectSchema(makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers as never })),
    formatError,
    includeStacktraceInErrorResponses: false,
    ...limits,
    plugins: [partialErrorsPlugin, explainPlugin, accessPlugin, ...limitPlugins],
  });
}

export function requestContext(services: HubServices, requestId: string, explain: boolean, caller: Caller): RequestContext {
  const calls = explain ? ([] as NonNullable<RequestContext['explain']>) : null;
  return {
    ...services,
    requestId,
    explain: calls,
    partialErrors: [],
    caller,
    // An open hub cannot say who read what, so only authenticated reads are audited.
    access: new RequestAccess(caller, requestId, services.directory.store, caller.via !== 'open'),
    loaders: new RequestLoaders(services.registry, calls ? (call) => calls.push(call) : undefined, Deadline.after(services.config.server.queryDeadlineMs)),
  };
}

export interface RunningHub {
  services: HubServices;
  url: string;
  close(): Promise<void>;
}

export async function startHub(config: HubConfig, options: { store?: LinkStore } = {}): Promise<RunningHub> {
  if (!config.auth && productionMode(config)) {
    throw new ConfigError([{ path: 'auth', message: 'production mode needs an auth section: an open hub shows every customer to anyone who can reach it' }]);
  }
  const authenticate = createAuthenticator(config.auth);
  const services = createServices(config, options.store);
  const apollo = createApollo(config);
  await apollo.start();
  let http: HttpSurface;
  try {
    http = await listenHttp(apollo, (request, requestId, caller) => requestContext(services, requestId, request.headers['x-rosetta-explain'] === '1', caller), {
      ...config.server,
      authenticate,
      maxBodyBytes: config.limits.maxBodyBytes,
      routes: [webhookRoute(services), readinessRoute(services)],
    });
  } catch (error) {
    await apollo.stop();
    throw error;
  }
  const stopAuditRetention = config.auth ? startAuditRetention(services.directory.store, config.auth.audit.retentionDays) : () => {};
  return {
    services,
    url: http.url,
    async close() {
      stopAuditRetention();
      await http.close();
      await apollo.stop();
      await services.registry.close();
      await services.directory.store.close();
    },
  };
}
