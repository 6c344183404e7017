// The hub's HTTP surface on node:http: /graphql through Apollo Server, plus health endpoints.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Authenticator } from '../auth/authenticator.js';
import { OPEN_CALLER, type Caller } from '../auth/caller.js';
import { AuthError } from '../auth/errors.js';
import type { RequestContext } from './context.js';
import type { CorsHandler } from './cors.js';
import { jsonNestsDeeperThan, MAX_JSON_NESTING } from './limits.js';

const MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLargeError extends Error {}
class BodyTooDeepError extends Error {}

async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const raw = await readRawBody(request, maxBytes);
  if (raw === null) throw new BodyTooLargeError();
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  // Apollo answers a body that is not an object with a clear 400; only JSON bodies are parsed here.
  if (!String(request.headers['content-type'] ?? '').includes('json')) return text;
  if (jsonNestsDeeperThan(text, MAX_JSON_NESTING)) throw new BodyTooDeepError();
  return JSON.parse(text) as unknown;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  response.end(JSON.stringify(body));
}

export type ContextFactory = (request: IncomingMessage, requestId: string, caller: Caller) => RequestContext;

interface GraphQLOptions {
  /** Without one, every request is served as the open caller (a hub configured without auth). */
  authenticate?: Authenticator;
  maxBodyBytes?: number;
  /** Structural limits on the query text (limits.ts), refused here before Apollo spends any work on it. */
  guardQuery?: (query: string) => readonly GraphQLError[];
  /** Cross-origin access (cors.ts): answers preflights and marks responses to allowed origins. */
  cors?: CorsHandler;
}

/** 401/403/503 with no data: sent before the body is read, so an unauthenticated caller costs almost nothing. */
function sendAuthError(response: ServerResponse, error: AuthError): void {
  if (error.status === 401) response.setHeader('www-authenticate', 'Bearer, ApiKey header="x-api-key"');
  sendJson(response, error.status, { errors: [{ message: error.message, extensions: { code: error.code } }] });
}

/** The query string with its `?`, as `URL.search` gives it; a POST to /graphql usually has none, and no URL is parsed. */
function searchOf(url: string | undefined): string {
  return url?.includes('?') ? new URL(url, 'http://hub').search : '';
}

async function handleGraphQL(apollo: ApolloServer<RequestContext>, makeContext: ContextFactory, request: IncomingMessage, response: ServerResponse, options: GraphQLOptions): Promise<void> {
  if (options.cors && (await options.cors(request, response))) return;
  const requestId = (typeof request.headers['x-request-id'] === 'string' && request.headers['x-request-id'].slice(0, 100)) || randomUUID();
  response.setHeader('x-request-id', requestId);
  let caller: Caller | undefined;
  if (options.authenticate) {
    try {
      caller = await options.authenticate(request.headers);
    } catch (error) {
      if (error instanceof AuthError) return sendAuthError(response, error);
      throw error;
    }
  }
  let body: unknown;
  try {
    body = request.method === 'POST' ? await readJsonBody(request, options.maxBodyBytes ?? MAX_BODY_BYTES) : undefined;
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendJson(response.setHeader('connection', 'close'), 413, { errors: [{ message: 'request body too large', extensions: { code: 'PAYLOAD_TOO_LARGE' } }] });
    if (error instanceof BodyTooDeepError) return sendJson(response, 400, { errors: [{ message: `request body nests deeper than ${MAX_JSON_NESTING} levels`, extensions: { code: 'BAD_REQUEST' } }] });
    return sendJson(response, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const search = searchOf(request.url);
  const query = body !== null && typeof body === 'object' && 'query' in body ? body.query : new URLSearchParams(search).get('query');
  const refused = typeof query === 'string' ? (options.guardQuery?.(query) ?? []) : [];
  if (refused.length > 0) {
    return sendJson(response, 400, { errors: refused.map((error) => ({ message: error.message, extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } })) });
  }
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method ?? 'GET', headers, search, body },
    context: async () => makeContext(request, requestId, caller ?? OPEN_CALLER),
  });
  for (const [key, value] of result.headers) response.setHeader(key, value);
  response.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    response.end(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) response.write(chunk);
  response.end();
}

export interface HttpSurface {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/**
 * An endpoint beside /graphql (webhooks, health, metrics, the playground): `match` returns its path parameters or
 * null. Routes are tried before /graphql, and `match` sees the request so a route can claim some /graphql requests
 * (a browser asking for HTML) and leave the rest to Apollo.
 */
export interface ExtraRoute {
  method: string;
  match(path: string, request: IncomingMessage): Record<string, string> | null;
  handle(request: IncomingMessage, response: ServerResponse, params: Record<string, string>): Promise<void>;
}

/** The raw request body, or null when it is larger than `maxBytes` (webhook signatures need the exact bytes). */
export function readRawBody(request: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<Buffer | null> {
  // A declared length over the limit is refused before a byte of it is read.
  if (Number(request.headers['content-length'] ?? 0) > maxBytes) return Promise.resolve(null);
  // Events rather than `for await`: the async iterator costs a promise per chunk on every request.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        finish();
        // The rest of an oversized body is left unread; the caller answers 413 and closes the connection.
        request.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      finish();
      reject(error);
    };
    const finish = (): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  });
}

export { sendJson };

export async function listenHttp(apollo: ApolloServer<RequestContext>, makeContext: ContextFactory, options: { host: string; port: number; routes?: readonly ExtraRoute[] } & GraphQLOptions): Promise<HttpSurface> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    let extra: { route: ExtraRoute; params: Record<string, string> } | null = null;
    for (const route of options.routes ?? []) {
      const params = route.method === request.method ? route.match(path, request) : null;
      if (params) {
        extra = { route, params };
        break;
      }
    }
    const handled = extra
      ? extra.route.handle(request, response, extra.params)
      : path === '/graphql'
        ? handleGraphQL(apollo, makeContext, request, response, options)
        : path === '/healthz'
          ? Promise.resolve(sendJson(response, 200, { status: 'ok' }))
          : Promise.resolve(sendJson(response, 404, { error: 'not_found' }));
    handled.catch((error: unknown) => {
      // The last line of defence: a bug answers 500 without detail; the process keeps serving.
      console.error('unhandled request error', error);
      if (!response.headersSent) sendJson(response, 500, { errors: [{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else response.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    server,
    url: `http://${host}:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
