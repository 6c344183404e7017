// The hub's HTTP surface on node:http: /graphql through Apollo Server, plus health endpoints.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLError } from 'graphql';
import type { Authenticator } from '../auth/authenticator.js';
import { OPEN_CALLER, type Caller } from '../auth/caller.js';
import { AuthError } from '../auth/errors.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { Logger } from 'pino';
import type { RequestContext } from '../request/context.js';
import type { CorsHandler } from './cors.js';
import { requestIdOf, sendJson, sendRequestErrors, sendRouteError, withRequestId } from './http-errors.js';
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
export function sendAuthError(request: IncomingMessage, response: ServerResponse, requestId: string, error: AuthError): void {
  if (error.status === 401) response.setHeader('www-authenticate', 'Bearer, ApiKey header="x-api-key"');
  sendRequestErrors(request.headers.accept, response, requestId, error.code, [{ message: error.message }]);
}

/** The query string with its `?`, as `URL.search` gives it; a POST to /graphql usually has none, and no URL is parsed. */
function searchOf(url: string | undefined): string {
  return url?.includes('?') ? new URL(url, 'http://hub').search : '';
}

async function handleGraphQL(apollo: ApolloServer<RequestContext>, makeContext: ContextFactory, request: IncomingMessage, response: ServerResponse, requestId: string, options: GraphQLOptions): Promise<void> {
  if (options.cors && (await options.cors(request, response, requestId))) return;
  const accept = request.headers.accept;
  let caller: Caller | undefined;
  if (options.authenticate) {
    try {
      caller = await options.authenticate(request.headers);
    } catch (error) {
      if (error instanceof AuthError) return sendAuthError(request, response, requestId, error);
      throw error;
    }
  }
  let body: unknown;
  try {
    body = request.method === 'POST' ? await readJsonBody(request, options.maxBodyBytes ?? MAX_BODY_BYTES) : undefined;
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendRequestErrors(accept, response.setHeader('connection', 'close'), requestId, ErrorCode.PAYLOAD_TOO_LARGE, [{ message: 'request body too large' }]);
    if (error instanceof BodyTooDeepError) return sendRequestErrors(accept, response, requestId, ErrorCode.BAD_REQUEST, [{ message: `request body nests deeper than ${MAX_JSON_NESTING} levels` }]);
    return sendRequestErrors(accept, response, requestId, ErrorCode.BAD_REQUEST, [{ message: 'request body is not valid JSON' }]);
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const search = searchOf(request.url);
  const query = body !== null && typeof body === 'object' && 'query' in body ? body.query : new URLSearchParams(search).get('query');
  const refused = typeof query === 'string' ? (options.guardQuery?.(query) ?? []) : [];
  if (refused.length > 0) {
    return sendRequestErrors(accept, response, requestId, ErrorCode.GRAPHQL_VALIDATION_FAILED, refused.map((error) => ({ message: error.message, extensions: error.extensions })));
  }
  const result = await apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: request.method ?? 'GET', headers, search, body },
    context: async () => makeContext(request, requestId, caller ?? OPEN_CALLER),
  });
  for (const [key, value] of result.headers) response.setHeader(key, value);
  response.statusCode = result.status ?? 200;
  if (result.body.kind === 'complete') {
    // Apollo's own early answers (CSRF prevention, parse and validation failures, a plugin's refusal) carry the id too.
    response.end(response.statusCode >= 400 ? withRequestId(result.body.string, requestId) : result.body.string);
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
  /** `requestId` is the one the response's `x-request-id` header already carries: log and answer with it. */
  handle(request: IncomingMessage, response: ServerResponse, params: Record<string, string>, requestId: string): Promise<void>;
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

export async function listenHttp(apollo: ApolloServer<RequestContext>, makeContext: ContextFactory, options: { host: string; port: number; routes?: readonly ExtraRoute[]; logger: Logger } & GraphQLOptions): Promise<HttpSurface> {
  const server = createServer((request, response) => {
    // Every answer, of every route, names its request: what a client reports is what the logs are searched by.
    const requestId = requestIdOf(request.headers);
    response.setHeader('x-request-id', requestId);
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
      ? extra.route.handle(request, response, extra.params, requestId)
      : path === '/graphql'
        ? handleGraphQL(apollo, makeContext, request, response, requestId, options)
        : path === '/healthz'
          ? Promise.resolve(sendJson(response, 200, { status: 'ok' }))
          : Promise.resolve(sendRouteError(response, requestId, ErrorCode.NOT_FOUND));
    handled.catch((error: unknown) => {
      // The last line of defence: a bug answers 500 without detail, its cause logged once under the request id; the
      // process keeps serving.
      options.logger.error({ err: error, requestId, method: request.method, path }, 'unhandled request error');
      if (response.headersSent) response.end();
      else if (path === '/graphql') sendRequestErrors(request.headers.accept, response, requestId, ErrorCode.INTERNAL_SERVER_ERROR, [{ message: 'internal error' }]);
      else sendRouteError(response, requestId, ErrorCode.INTERNAL_SERVER_ERROR);
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
