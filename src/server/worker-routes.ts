// The routes a cluster worker answers differently from a lone hub: health and readiness say which worker answered,
// and /metrics shows every worker's counters, aggregated by the primary.
import type { HubServices } from './context.js';
import { sendJson, type ExtraRoute } from './http.js';
import { checkReadiness } from './readiness.js';
import type { WorkerRelay } from './worker-relay.js';

/** Which worker answered: its slot (1-based, kept across restarts) and its process. */
export interface WorkerIdentity {
  worker: number;
  pid: number;
}

export function workerRoutes(services: HubServices, relay: WorkerRelay, identity: WorkerIdentity): ExtraRoute[] {
  return [
    {
      method: 'GET',
      match: (path) => (path === '/healthz' ? {} : null),
      handle: async (_request, response) => sendJson(response, 200, { status: 'ok', ...identity }),
    },
    {
      method: 'GET',
      match: (path) => (path === '/readyz' ? {} : null),
      async handle(_request, response) {
        // Each worker reports its own view: its store connection and its own breakers and bulkheads.
        const readiness = await checkReadiness(services);
        sendJson(response, readiness.status === 'ready' ? 200 : 503, { ...readiness, ...identity });
      },
    },
    {
      method: 'GET',
      match: (path) => (path === '/metrics' ? {} : null),
      async handle(_request, response) {
        try {
          const { text, contentType } = await relay.clusterMetrics();
          response.writeHead(200, { 'content-type': contentType });
          response.end(text);
        } catch {
          // Half the workers' counters would read as a counter reset: better no scrape than a wrong one.
          sendJson(response, 503, { error: 'metrics_unavailable' });
        }
      },
    },
  ];
}
