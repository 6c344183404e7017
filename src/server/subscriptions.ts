// GraphQL subscriptions over graphql-ws on the hub's own port (a WebSocket upgrade at /graphql): authenticated at
// connection, bounded per connection and per caller, executed on the protected schema with a query's context per event
// (subscription-gate.ts, shared with the SSE transport).
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, type ExecutionResult } from 'graphql';
import { CloseCode, type Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Caller } from '../auth/caller.js';
import { AuthError } from '../auth/errors.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { HubServices } from '../request/context.js';
import type { SubscriptionConnection, SubscriptionGate } from './subscription-gate.js';

export interface SubscriptionServer {
  /** Connections open now. */
  readonly connections: number;
  /** Refuses new connections and closes the open ones with 1001 (going away); clients reconnect elsewhere. */
  close(): Promise<void>;
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

export function attachSubscriptions(server: Server, gate: SubscriptionGate, services: HubServices): SubscriptionServer {
  const limits = services.config.server.subscriptions;
  const { logger } = services.telemetry;
  const connections = new WeakMap<Context<Record<string, unknown>, Extra>, SubscriptionConnection>();
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

  const disposable = useServer<Record<string, unknown>>(
    {
      schema: gate.schema,
      connectionInitWaitTimeout: limits.connectionInitWaitMs,
      // Errors are formatted by the hub (formatError); graphql-ws's production flag only hides messages it makes itself.
      onConnect: async (ctx) => {
        let caller: Caller;
        try {
          caller = await gate.authenticate(credentialHeaders(ctx.connectionParams), 'ws');
        } catch (error) {
          if (!(error instanceof AuthError)) throw error;
          const code = error.status === 401 ? CLOSE_UNAUTHENTICATED : error.status === 403 ? CloseCode.Forbidden : CloseCode.InternalServerError;
          ctx.extra.socket.close(code, error.message.slice(0, 120));
          return false;
        }
        const explain = ctx.connectionParams?.explain === true || ctx.connectionParams?.explain === '1';
        connections.set(ctx, gate.connect(caller, explain, 'ws'));
        open += 1;
        return true;
      },
      onSubscribe: (ctx, id, payload) => {
        const connection = connections.get(ctx);
        if (!connection) return [new GraphQLError('the connection is not authenticated', { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        return gate.admit(connection, id, payload);
      },
      subscribe: (args) => gate.subscribe(args),
      onNext: (_ctx, _id, _payload, _args, result) => gate.format(result) as ExecutionResult,
      onError: (_ctx, _id, _payload, errors) => gate.formatErrors(errors) as GraphQLError[],
      onComplete: (ctx, id) => {
        const connection = connections.get(ctx);
        if (connection) gate.release(connection, id);
      },
      onClose: (ctx, code) => {
        const connection = connections.get(ctx);
        if (!connection) return;
        connections.delete(ctx);
        open -= 1;
        gate.disconnect(connection, { code });
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
