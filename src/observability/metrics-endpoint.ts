// `GET /metrics` in the Prometheus text format: on the GraphQL port or on a port of its own, open or behind a key.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsSection } from '../config/schema.js';
import { sendJson, type ExtraRoute } from '../server/http.js';

/** The text to serve: this process's registry, or a cluster primary's aggregate of every worker's. */
export type MetricsSource = () => Promise<{ text: string; contentType: string }>;

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Whether the request carries `Authorization: Bearer <key>`; compared in constant time. */
function holdsKey(request: IncomingMessage, key: string): boolean {
  const header = request.headers.authorization ?? '';
  const given = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
  return timingSafeEqual(digest(given), digest(key));
}

export function metricsRoute(source: MetricsSource, section: Pick<MetricsSection, 'key'>): ExtraRoute {
  return {
    method: 'GET',
    match: (path) => (path === '/metrics' ? {} : null),
    async handle(request, response) {
      if (section.key !== undefined && !holdsKey(request, section.key)) {
        response.setHeader('www-authenticate', 'Bearer realm="metrics"');
        return sendJson(response, 401, { error: 'metrics need the key configured in metrics.key' });
      }
      let scrape: { text: string; contentType: string };
      try {
        scrape = await source();
      } catch {
        // A cluster missing some workers' counters would read as a counter reset: better no scrape than a wrong one.
        return sendJson(response, 503, { error: 'metrics_unavailable' });
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
export async function listenMetrics(host: string, port: number, route: ExtraRoute): Promise<MetricsListener> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const params = request.method === route.method ? route.match(path, request) : null;
    if (!params) return sendJson(response, 404, { error: 'not_found' });
    route.handle(request, response, params).catch((error: unknown) => {
      console.error('metrics request failed', error);
      if (!response.headersSent) sendJson(response, 500, { error: 'internal error' });
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
