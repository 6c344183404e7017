// A bare HTTP source on loopback (port 0) for client-level tests: answers from a handler, records every request it received.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseConfig } from '../../src/config/load.js';
import type { HubConfigInput, SourceConfig } from '../../src/config/schema.js';

export interface ReceivedRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** JSON-encoded unless a string. */
  body?: unknown;
}

export type Handler = (request: ReceivedRequest) => Reply | Promise<Reply>;

export interface LoopbackSource {
  url: string;
  received: ReceivedRequest[];
  /** Requests to paths starting with `prefix`. */
  count(prefix: string): number;
  close(): Promise<void>;
}

export async function startLoopbackSource(handler: Handler): Promise<LoopbackSource> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      void Promise.resolve(handler(request)).then((reply) => {
        const body = reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
        res.end(body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    count: (prefix) => received.filter((r) => r.url.startsWith(prefix)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A validated config with one source `api` at `baseUrl` (one entity), `source` merged into it as written in YAML. */
export function oneSourceConfig(baseUrl: string, source: Record<string, unknown> = {}, top: Partial<HubConfigInput> = {}) {
  return parseConfig(
    {
      linkStore: { kind: 'sqlite', path: ':memory:' },
      sources: {
        api: {
          baseUrl,
          entities: { contact: { single: { path: '/contacts/{id}' } } },
          ...source,
        },
      },
      ...top,
    },
    {},
  );
}

export function apiSource(baseUrl: string, source: Record<string, unknown> = {}): SourceConfig {
  return oneSourceConfig(baseUrl, source).sources.api!;
}
