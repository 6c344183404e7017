// `GET /readyz`: ready when the link store answers; the body shows each source's circuit and recent error rate.
import type { SourceHealth } from '../sources/http-client.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { HubServices } from './context.js';
import { sendJson, type ExtraRoute } from './http.js';

/** A store that takes longer than this to answer `SELECT 1` is as good as unreachable for a load balancer. */
const STORE_PING_TIMEOUT_MS = 2_000;

export interface Readiness {
  status: 'ready' | 'not_ready';
  linkStore: 'ok' | 'unreachable';
  sources: Record<string, SourceHealth>;
}

export function sourceHealth(registry: SourceRegistry): Record<string, SourceHealth> {
  return Object.fromEntries([...registry.connectors].map(([name, connector]) => [name, connector.client.health()]));
}

async function storeAnswers(services: HubServices): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), STORE_PING_TIMEOUT_MS);
  });
  try {
    return await Promise.race([services.directory.store.ping().then(() => true), timedOut]);
  } catch {
    // The reason goes nowhere a client sees; "unreachable" is the whole answer /readyz gives.
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Failing sources do not make the hub unready: it still answers with what the healthy ones hold, and taking every
 * replica out of the load balancer because one source is down would turn a partial outage into a total one.
 */
export async function checkReadiness(services: HubServices): Promise<Readiness> {
  const linkStoreOk = await storeAnswers(services);
  return { status: linkStoreOk ? 'ready' : 'not_ready', linkStore: linkStoreOk ? 'ok' : 'unreachable', sources: sourceHealth(services.registry) };
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
