// Assembles a running hub from config: sources, link store and cache, Apollo Server and the HTTP surface.
import { ApolloServer } from '@apollo/server';
import type { HubConfig } from '../config/schema.js';
import { SurvivorshipRule } from '../customer/survivorship.js';
import { LinkDirectory } from '../identity/directory.js';
import { LinkService } from '../identity/link-service.js';
import { SqliteLinkStore } from '../identity/sqlite-store.js';
import type { LinkStore } from '../identity/store.js';
import { RequestLoaders } from '../loaders/request-loaders.js';
import { SourceRegistry } from '../sources/registry.js';
import { resolvers } from '../../resolvers/index.js';
import type { HubServices, RequestContext } from './context.js';
import { formatError } from './errors.js';
import { listenHttp, type HttpSurface } from './http.js';
import { explainPlugin, partialErrorsPlugin } from './plugins.js';
import { loadTypeDefs } from './schema.js';

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

export function createApollo(): ApolloServer<RequestContext> {
  return new ApolloServer<RequestContext>({
    typeDefs: loadTypeDefs(),
    resolvers: resolvers as never,
    formatError,
    includeStacktraceInErrorResponses: false,
    plugins: [partialErrorsPlugin, explainPlugin],
  });
}

export function requestContext(services: HubServices, requestId: string, explain: boolean): RequestContext {
  const calls = explain ? ([] as NonNullable<RequestContext['explain']>) : null;
  return {
    ...services,
    requestId,
    explain: calls,
    partialErrors: [],
    loaders: new RequestLoaders(services.registry, calls ? (call) => calls.push(call) : undefined),
  };
}

export interface RunningHub {
  services: HubServices;
  url: string;
  close(): Promise<void>;
}

export async function startHub(config: HubConfig, options: { store?: LinkStore } = {}): Promise<RunningHub> {
  const services = createServices(config, options.store);
  const apollo = createApollo();
  await apollo.start();
  let http: HttpSurface;
  try {
    http = await listenHttp(apollo, (request, requestId) => requestContext(services, requestId, request.headers['x-rosetta-explain'] === '1'), config.server);
  } catch (error) {
    await apollo.stop();
    throw error;
  }
  return {
    services,
    url: http.url,
    async close() {
      await http.close();
      await apollo.stop();
      await services.registry.close();
      await services.directory.store.close();
    },
  };
}
