// `GET /readyz`: ready when the link store can serve (store-readiness.ts); the body shows each source's circuit and recent error rate.
import type { SourceHealth } from '../sources/http-client.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { StoreCondition } from '../identity/store.js';
import type { HubServices } from '../request/context.js';
import { sendJson, type ExtraRoute } from './http.js';

export interface Readiness {
  status: 'ready' | 'not_ready';
  /** `ok`, or why the store cannot serve: unreachable, read_only, schema_missing, schema_outdated, audit_unavailable, notifications_lost. */
  linkStore: StoreCondition;
  sources: Record<string, SourceHealth>;
}

function sourceHealth(registry: SourceRegistry): Record<string, SourceHealth> {
  return Object.fromEntries([...registry.connectors].map(([name, connector]) => [name, connector.client.health()]));
}

/**
 * Failing sources do not make the hub unready: it still answers with what the healthy ones hold, and taking every
 * replica out of the load balancer because one source is down would turn a partial outage into a total one.
 */
export async function checkReadiness(services: HubServices): Promise<Readiness> {
  const { condition } = await services.storeReadiness.check();
  return { status: condition === 'ok' ? 'ready' : 'not_ready', linkStore: condition, sources: sourceHealth(services.registry) };
}

export function readinessRoute(services: HubServices): ExtraRoute {
  return {
    method: 'GET',
    match: (path) => (path === '/readyz' ? {} : null),
    async handle(_request, response) {
      const readiness = await checkReadiness(services);
      sendJson(response, readiness.status === 'ready' ? 200 : 503, readiness);
    },
  };
}
