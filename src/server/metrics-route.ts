// `GET /metrics` in the Prometheus text format: on the GraphQL port or on a port of its own, open or behind a key.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { MetricsSection } from '../config/schema.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { ExtraRoute } from './http.js';
import { requestIdOf, sendRouteError } from './http-errors.js';

/** The text to serve: this process's registry, or a cluster primary's aggregate of every worker's. */
export type MetricsSource = () => Promise<{ text: string; contentType: string }>;

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether the request carries `Authorization: Bearer <key>`; compared in constant time. */
function holdsKey(request: IncomingMessage, key: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  return timingSafeEqual(digest(given), digest(key));
}

export function metricsRoute(source: MetricsSource, section: Pick<MetricsSection, 'key'>, logger: Logger): ExtraRoute {
  return {
    method: 'GET',
    match: (path) => (path === '/metrics' ? {} : null),
    async handle(request, response, _params, requestId) {
      if (section.key !== undefined && !holdsKey(request, section.key)) {
        response.setHeader('www-authenticate', 'Bearer realm="metrics"');
        return sendRouteError(response, requestId, ErrorCode.UNAUTHENTICATED, { message: 'metrics need the key configured in metrics.key' });
      }
      let scrape: { text: string; contentType: string };
      try {
        scrape = await source();
      } catch (error) {
        // A cluster missing some workers' counters would read as a counter reset: better no scrape than a wrong one.
        logger.warn({ err: error, requestId }, 'metrics scrape refused: the counters could not all be gathered');
        return sendRouteError(response, requestId, ErrorCode.METRICS_UNAVAILABLE);
      }
      response.writeHead(200, { 'content-type': scrape.contentType });
      response.end(scrape.text);
    },
  };
}

export interface MetricsListener {
  url: string;
  close(): Promise<void>;
}

/** A server answering only `GET /metrics`, for `metrics.port`: scrapers reach it, the public GraphQL port does not serve it. */
export async function listenMetrics(host: string, port: number, route: ExtraRoute, logger: Logger): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const requestId = requestIdOf(request.headers);
    response.setHeader('x-request-id', requestId);
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const params = request.method === route.method ? route.match(path, request) : null;
    if (!params) return sendRouteError(response, requestId, ErrorCode.NOT_FOUND);
    route.handle(request, response, params, requestId).catch((error: unknown) => {
      logger.error({ err: error, requestId, path }, 'metrics request failed');
      if (!response.headersSent) sendRouteError(response, requestId, ErrorCode.INTERNAL_SERVER_ERROR);
      else response.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
