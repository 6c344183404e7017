// GraphQL subscriptions over server-sent events (the graphql-sse protocol, distinct connections mode) at
// /graphql/stream: one HTTP response per subscription, for clients and networks where WebSockets are not an option.
// Credentials come from the request's headers as for queries; bounds, masking, metrics and logs are the WebSocket
// transport's own (subscription-gate.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionResult } from 'graphql';
import { createHandler, type Request as SseRequest } from 'graphql-sse';
import type { Logger } from 'pino';
import type { Caller } from '../auth/caller.js';
import { AuthError } from '../auth/errors.js';
import type { CorsHandler } from './cors.js';
import { ErrorCode } from '../errors/catalogue.js';
import { sendRequestErrors } from './http-errors.js';
import { readRawBody, sendAuthError, type ExtraRoute } from './http.js';
import type { SubscriptionConnection, SubscriptionGate } from './subscription-gate.js';

const SSE_PATH = '/graphql/stream';
const EVENT_STREAM = 'text/event-stream';
/** In distinct connections mode a response carries one operation: this is its ID on the connection. */
const OPERATION_ID = 'sse';

export interface SseSubscriptions {
  /** GET and POST (and the CORS preflight) at /graphql/stream. */
  routes: readonly ExtraRoute[];
  /** Event streams open now. */
  readonly streams: number;
  /**
   * Refuses new streams (503) and ends the open ones without a `complete` event, so that clients reconnect, as
   * graphql-ws clients do on 1001: the graphql-sse client retries, a browser's EventSource reconnects.
   */
  close(): void;
}

interface StreamContext {
  connection: SubscriptionConnection;
}

export function sseSubscriptions(gate: SubscriptionGate, options: { maxBodyBytes: number; cors?: CorsHandler; logger: Logger }): SseSubscriptions {
  const open = new Set<ServerResponse>();
  let closing = false;

  const handler = createHandler<IncomingMessage, StreamContext>({
    // No stream tokens: the "single connection mode" (a PUT reserving a stream for later operations) is off, and every
    // request carries its own subscription.
    authenticate: () => null,
    onSubscribe: (request: SseRequest<IncomingMessage, StreamContext>, params) => {
      const admitted = gate.admit(request.context.connection, OPERATION_ID, params);
      // A refusal is the stream's one result (then `complete`), as graphql-sse reports validation errors itself.
      // The hub's context is not one of graphql-sse's context types (a plain record): the arguments go through as they are.
      return Array.isArray(admitted) ? { data: null, errors: admitted } : (admitted as never);
    },
    subscribe: (args) => gate.subscribe(args),
    onNext: (_ctx, _request, result) => gate.format(result as ExecutionResult) as never,
    onComplete: (_ctx, request) => gate.release(request.context.connection, OPERATION_ID),
  });

  async function handle(request: IncomingMessage, response: ServerResponse, requestId: string): Promise<void> {
    if (options.cors && (await options.cors(request, response, requestId))) return;
    if (closing) {
      response.setHeader('connection', 'close');
      return sendRequestErrors(request.headers.accept, response, requestId, ErrorCode.SHUTTING_DOWN, [{ message: 'the hub is shutting down: reconnect' }]);
    }
    if (!String(request.headers.accept ?? '').includes(EVENT_STREAM)) {
      return sendRequestErrors(request.headers.accept, response, requestId, ErrorCode.NOT_ACCEPTABLE, [{ message: `${SSE_PATH} streams subscriptions as server-sent events: send Accept: ${EVENT_STREAM}` }]);
    }
    let caller: Caller;
    try {
      caller = await gate.authenticate(request.headers, 'sse');
    } catch (error) {
      if (error instanceof AuthError) return sendAuthError(request, response, requestId, error);
      throw error;
    }
    const connection = gate.connect(caller, request.headers['x-rosetta-explain'] === '1', 'sse', requestId);
    try {
      await stream(request, response, connection);
    } finally {
      gate.disconnect(connection);
    }
  }

  /** graphql-sse's Node adapter (graphql-sse/lib/use/http), with the body bounded and the stream tracked for the drain. */
  async function stream(request: IncomingMessage, response: ServerResponse, connection: SubscriptionConnection): Promise<void> {
    const [body, init] = await handler({
      method: request.method ?? 'GET',
      url: request.url ?? SSE_PATH,
      headers: {
        // The library tells an event stream by an exact Accept; a client that sends more types still asked for one.
        get: (key) => (key === 'accept' ? EVENT_STREAM : ([] as string[]).concat(request.headers[key] ?? []).join('\n') || null),
      },
      body: async () => {
        const raw = await readRawBody(request, options.maxBodyBytes);
        if (raw === null) throw new Error(`request body over ${options.maxBodyBytes} bytes`);
        return raw.toString('utf8');
      },
      raw: request,
      context: { connection },
    });
    response.writeHead(init.status, init.statusText, init.headers);
    if (!body || typeof body === 'string') {
      await new Promise<void>((resolve) => response.end(body ?? undefined, () => resolve()));
      return;
    }
    const stop = () => void body.return(undefined);
    response.once('close', stop);
    open.add(response);
    try {
      for await (const message of body) {
        if (!response.writable) break;
        await new Promise<void>((resolve, reject) => response.write(message, (error) => (error ? reject(error) : resolve())));
      }
    } finally {
      open.delete(response);
      response.off('close', stop);
      if (!response.writableEnded) response.end();
    }
  }

  const route = (method: string): ExtraRoute => ({
    method,
    match: (path) => (path === SSE_PATH ? {} : null),
    handle: (request, response, _params, requestId) => handle(request, response, requestId),
  });

  return {
    routes: [route('GET'), route('POST'), ...(options.cors ? [route('OPTIONS')] : [])],
    get streams() {
      return open.size;
    },
    close() {
      if (closing) return;
      closing = true;
      if (open.size > 0) options.logger.info({ streams: open.size }, 'subscription event streams ended: the hub is shutting down');
      // Ending the response stops the stream's loop, which ends its subscription (and releases its bounds).
      for (const response of open) response.end();
    },
  };
}
