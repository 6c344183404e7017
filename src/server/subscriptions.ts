// GraphQL subscriptions over graphql-ws on the hub's own port (a WebSocket upgrade at /graphql): authenticated at
// connection, bounded per connection and per caller, executed on the protected schema with a query's context per event.
import type { IncomingMessage, Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createSourceEventStream, execute, getOperationAST, GraphQLError, parse, validate, type DocumentNode, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Authenticator } from '../auth/authenticator.js';
import type { Caller } from '../auth/caller.js';
import { AuthError } from '../auth/errors.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { HubServices, RequestContext } from './context.js';
import { formatError } from './errors.js';

export interface SubscriptionServerOptions {
  schema: GraphQLSchema;
  services: HubServices;
  authenticate: Authenticator;
  /** The structural limits queries get over HTTP (depth, tokens, aliases...). */
  guardQuery: (query: string) => readonly GraphQLError[];
  /** A query's context: fresh loaders, deadline, access and explain, for the subscription and again for each event. */
  makeContext: (requestId: string, explain: boolean, caller: Caller) => RequestContext;
}

export interface SubscriptionServer {
  /** Connections open now. */
  readonly connections: number;
  /** Refuses new connections and closes the open ones with 1001 (going away); clients reconnect elsewhere. */
  close(): Promise<void>;
}

/** What the hub knows of one connection once its credentials were checked. */
interface Connection {
  id: string;
  caller: Caller;
  explain: boolean;
  /** Operation IDs of the subscriptions running on it. */
  active: Set<string>;
}

/** graphql-ws's code for "credentials missing or invalid"; clients (Apollo, urql) surface it as such. */
const CLOSE_UNAUTHENTICATED = CloseCode.Unauthorized;
const CLOSE_GOING_AWAY = 1001;
/** How long a closing client gets to answer the close handshake before its socket is cut. */
const CLOSE_HANDSHAKE_MS = 2_000;

/** Credentials from `connectionParams`, as the HTTP authenticator reads them from headers. */
function credentialHeaders(params: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  const apiKey = params?.apiKey ?? params?.['x-api-key'];
  const authorization = params?.authorization ?? params?.Authorization;
  if (typeof apiKey === 'string') headers['x-api-key'] = apiKey;
  if (typeof authorization === 'string') headers.authorization = authorization;
  else if (typeof params?.token === 'string') headers.authorization = `Bearer ${params.token}`;
  return headers;
}

const refusal = (message: string, code: ErrorCode) => [new GraphQLError(message, { extensions: { code } })];

/** `createSourceEventStream` then one execution per event, each with a context of its own (see `subscribe`). */
async function subscribeWithFreshContexts(args: ExecutionArgs, freshContext: () => RequestContext, finish: (context: RequestContext, result: ExecutionResult) => Promise<ExecutionResult>): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  const events = source[Symbol.asyncIterator]();
  const mapped: AsyncGenerator<ExecutionResult> = {
    async next() {
      const event = await events.next();
      if (event.done) return { value: undefined, done: true };
      const context = freshContext();
      return { value: await finish(context, await execute({ ...args, rootValue: event.value, contextValue: context })), done: false };
    },
    async return() {
      await events.return?.();
      return { value: undefined, done: true };
    },
    async throw(error: unknown) {
      await events.return?.();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return mapped;
    },
  } as AsyncGenerator<ExecutionResult>;
  return mapped;
}

/**
 * What an HTTP response gets from the hub's Apollo plugins, given to one event's result: partial-source errors, the
 * audit of personal data read (fail closed: no audit, no data), the masked paths and, when asked for, the explain report.
 */
async function finishEvent(context: RequestContext, result: ExecutionResult): Promise<ExecutionResult> {
  const errors = [...(result.errors ?? []), ...context.partialErrors];
  try {
    await context.access.flushReads();
  } catch (error) {
    context.telemetry.logger.error({ err: error, requestId: context.requestId }, 'audit log write failed: subscription event withheld');
    return { errors: refusal('the audit log is unavailable, so no personal data can be served', ErrorCode.AUDIT_UNAVAILABLE) };
  }
  const extensions: Record<string, unknown> = { ...result.extensions };
  if (context.access.masked.length > 0) extensions.masked = context.access.masked;
  if (context.explain) extensions.explain = context.explain.report(context.directory);
  context.telemetry.metrics.recordSubscriptionEvents('delivered');
  return { ...result, ...(errors.length > 0 ? { errors } : {}), ...(Object.keys(extensions).length > 0 ? { extensions } : {}) };
}

export function attachSubscriptions(server: Server, options: SubscriptionServerOptions): SubscriptionServer {
  const { services, schema } = options;
  const limits = services.config.server.subscriptions;
  const { metrics, logger } = services.telemetry;
  const connections = new WeakMap<Context<Record<string, unknown>, Extra>, Connection>();
  const perCaller = new Map<string, number>();
  /** How each subscription's events get contexts of their own: keyed by the subscription's own context. */
  const freshContexts = new WeakMap<RequestContext, () => RequestContext>();
  let open = 0;
  let closing: Promise<void> | null = null;

  // Bodies of graphql-ws messages are bounded as HTTP bodies are.
  const sockets = new WebSocketServer({ noServer: true, maxPayload: services.config.limits.maxBodyBytes });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/graphql' || closing) {
      socket.end(`HTTP/1.1 ${closing ? '503 Service Unavailable' : '404 Not Found'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(request, socket, head, (ws) => sockets.emit('connection', ws, request));
  };
  server.on('upgrade', onUpgrade);

  const release = (connection: Connection, id: string) => {
    if (!connection.active.delete(id)) return;
    const left = (perCaller.get(connection.caller.id) ?? 1) - 1;
    if (left > 0) perCaller.set(connection.caller.id, left);
    else perCaller.delete(connection.caller.id);
    metrics.subscriptionClosed();
  };

  const disposable = useServer<Record<string, unknown>>(
    {
      schema,
      connectionInitWaitTimeout: limits.connectionInitWaitMs,
      // Errors are formatted by the hub (formatError); graphql-ws's production flag only hides messages it makes itself.
      onConnect: async (ctx) => {
        let caller: Caller;
        try {
          caller = await options.authenticate(credentialHeaders(ctx.connectionParams));
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          metrics.recordSubscriptionRefusal(error.status === 401 ? 'unauthenticated' : 'forbidden');
          logger.info({ code: error.code }, 'subscription connection refused');
          const code = error.status === 401 ? CLOSE_UNAUTHENTICATED : error.status === 403 ? CloseCode.Forbidden : CloseCode.InternalServerError;
          ctx.extra.socket.close(code, error.message.slice(0, 120));
          return false;
        }
        const explain = ctx.connectionParams?.explain === true || ctx.connectionParams?.explain === '1';
        connections.set(ctx, { id: randomUUID(), caller, explain, active: new Set() });
        open += 1;
        logger.debug({ caller: caller.id }, 'subscription connection opened');
        return true;
      },
      onSubscribe: (ctx, id, payload) => {
        const connection = connections.get(ctx);
        if (!connection) return refusal('the connection is not authenticated', ErrorCode.UNAUTHENTICATED);
        if (connection.active.size >= limits.maxPerConnection) {
          metrics.recordSubscriptionRefusal('limit');
          return refusal(`at most ${limits.maxPerConnection} subscriptions per connection`, ErrorCode.SUBSCRIPTION_LIMIT);
        }
        if ((perCaller.get(connection.caller.id) ?? 0) >= limits.maxPerCaller) {
          metrics.recordSubscriptionRefusal('limit');
          return refusal(`at most ${limits.maxPerCaller} subscriptions per caller`, ErrorCode.SUBSCRIPTION_LIMIT);
        }
        const refused = options.guardQuery(payload.query);
        if (refused.length > 0) {
          metrics.recordSubscriptionRefusal('invalid');
          return refused.map((error) => new GraphQLError(error.message, { extensions: { ...error.extensions, code: ErrorCode.GRAPHQL_VALIDATION_FAILED } }));
        }
        let document: DocumentNode;
        try {
          document = parse(payload.query, { maxTokens: services.config.limits.maxTokens });
        } catch (error) {
          metrics.recordSubscriptionRefusal('invalid');
          return refusal((error as Error).message, ErrorCode.GRAPHQL_PARSE_FAILED);
        }
        const operation = getOperationAST(document, payload.operationName);
        if (operation?.operation !== 'subscription') {
          metrics.recordSubscriptionRefusal('invalid');
          // Queries and mutations go through Apollo over HTTP, where every plugin (limits, audit, metrics) sees them.
          return refusal('only subscriptions are served over WebSocket: send queries and mutations to /graphql over HTTP', ErrorCode.BAD_REQUEST);
        }
        const invalid = validate(schema, document);
        if (invalid.length > 0) {
          metrics.recordSubscriptionRefusal('invalid');
          return invalid.map((error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED } }));
        }
        const requestId = `ws:${connection.id}:${id}`;
        const contextValue = options.makeContext(requestId, connection.explain, connection.caller);
        let event = 0;
        freshContexts.set(contextValue, () => options.makeContext(`${requestId}:${++event}`, connection.explain, connection.caller));
        connection.active.add(id);
        perCaller.set(connection.caller.id, (perCaller.get(connection.caller.id) ?? 0) + 1);
        metrics.subscriptionOpened();
        return { schema, document, operationName: payload.operationName ?? null, variableValues: payload.variables ?? null, contextValue };
      },
      /**
       * graphql-js runs every event of a subscription with the context it started with; the hub's contexts hold
       * per-request loaders (a cache) and a deadline, so each event gets a new one, built as a query's would be.
       */
      subscribe: (args) => {
        const fresh = freshContexts.get(args.contextValue as RequestContext);
        if (!fresh) throw new Error('a subscription started without the hub building its context');
        return subscribeWithFreshContexts(args, fresh, finishEvent);
      },
      onNext: (_ctx, _id, _payload, _args, result) => ({
        ...result,
        ...(result.errors ? { errors: result.errors.map((error) => formatError(error.toJSON(), error)) } : {}),
      }),
      onError: (_ctx, _id, _payload, errors) => errors.map((error) => formatError(error.toJSON(), error)),
      onComplete: (ctx, id) => {
        const connection = connections.get(ctx);
        if (connection) release(connection, id);
      },
      onClose: (ctx, code) => {
        const connection = connections.get(ctx);
        if (!connection) return;
        for (const id of [...connection.active]) release(connection, id);
        connections.delete(ctx);
        open -= 1;
        logger.debug({ caller: connection.caller.id, code }, 'subscription connection closed');
      },
    },
    sockets,
    limits.keepAliveMs,
  );

  // The hub's drain (http-drain.ts) announces itself: sockets held open by subscriptions would keep it waiting.
  const onDraining = () => void close();
  server.on('draining', onDraining);

  function close(): Promise<void> {
    closing ??= (async () => {
      server.off('upgrade', onUpgrade);
      server.off('draining', onDraining);
      const count = open;
      const clients = [...sockets.clients];
      const closed = clients.map((client) => new Promise((resolve) => (client.readyState === client.CLOSED ? resolve(undefined) : client.once('close', resolve))));
      for (const client of clients) client.close(CLOSE_GOING_AWAY, 'the hub is shutting down');
      await disposable.dispose();
      // A client that does not answer the close handshake would hold its socket (and the HTTP drain) for 30 s.
      const grace = setTimeout(() => clients.forEach((client) => client.terminate()), CLOSE_HANDSHAKE_MS);
      await Promise.all(closed);
      clearTimeout(grace);
      if (count > 0) logger.info({ connections: count }, 'subscription connections closed: the hub is shutting down');
    })();
    return closing;
  }

  return {
    get connections() {
      return open;
    },
    close,
  };
}
