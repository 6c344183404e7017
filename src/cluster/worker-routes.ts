// The routes a cluster worker answers differently from a lone hub: health and readiness say which worker answered,
// and /metrics (cluster-worker.ts hands startHub the relay's aggregate) shows every worker's counters.
import type { HubServices } from '../request/context.js';
import { sendJson, type ExtraRoute } from '../server/http.js';
import { checkReadiness } from '../server/readiness.js';

/** Which worker answered: its slot (1-based, kept across restarts) and its process. */
export interface WorkerIdentity {
  worker: number;
  pid: number;
}

export function workerRoutes(services: HubServices, identity: WorkerIdentity): ExtraRoute[] {
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
  ];
}
