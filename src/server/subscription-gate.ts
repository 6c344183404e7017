// What every subscription transport (graphql-ws, graphql-sse) shares: credentials checked per connection, operations
// admitted within the bounds (per connection and per caller, across transports), executed on the protected schema with
// a query's context per event, formatted as HTTP results are, and counted in the same metrics.
import type { IncomingHttpHeaders } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createSourceEventStream, execute, getOperationAST, GraphQLError, parse, validate, type DocumentNode, type ExecutionArgs, type ExecutionResult, type FormattedExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from 'graphql';
import type { Authenticator } from '../auth/authenticator.js';
import type { Caller } from '../auth/caller.js';
import { AuthError } from '../auth/errors.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { HubServices, RequestContext } from '../request/context.js';
import { formatError } from '../request/errors.js';

export type SubscriptionTransport = 'ws' | 'sse';

export interface SubscriptionGateOptions {
  schema: GraphQLSchema;
  services: HubServices;
  authenticate: Authenticator;
  /** The structural limits queries get over HTTP (depth, tokens, aliases...). */
  guardQuery: (query: string) => readonly GraphQLError[];
  /** A query's context: fresh loaders, deadline, access and explain, for the subscription and again for each event. */
  makeContext: (requestId: string, explain: boolean, caller: Caller) => RequestContext;
}

/** What the hub knows of one connection (a WebSocket, or one SSE response) once its credentials were checked. */
export interface SubscriptionConnection {
  readonly id: string;
  readonly transport: SubscriptionTransport;
  readonly caller: Caller;
  readonly explain: boolean;
  /** Operation IDs of the subscriptions running on it. */
  readonly active: Set<string>;
}

/** An operation as a client sends it, in either protocol. */
export interface OperationRequest {
  query: string;
  operationName?: string | null | undefined;
  variables?: Record<string, unknown> | null | undefined;
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

export class SubscriptionGate {
  private readonly perCaller = new Map<string, number>();
  /** How each subscription's events get contexts of their own: keyed by the subscription's own context. */
  private readonly freshContexts = new WeakMap<RequestContext, () => RequestContext>();
  private open = 0;

  constructor(private readonly options: SubscriptionGateOptions) {}

  get schema(): GraphQLSchema {
    return this.options.schema;
  }

  /** Connections open now, over every transport. */
  get connections(): number {
    return this.open;
  }

  /** The caller the credentials name; an AuthError (401, 403, 503) is counted, logged and thrown for the transport to answer. */
  async authenticate(headers: IncomingHttpHeaders, transport: SubscriptionTransport): Promise<Caller> {
    const { metrics, logger } = this.options.services.telemetry;
    try {
      return await this.options.authenticate(headers);
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      metrics.recordSubscriptionRefusal(error.status === 401 ? 'unauthenticated' : 'forbidden');
      logger.info({ code: error.code, transport }, 'subscription connection refused');
      throw error;
    }
  }

  /** `id` names the connection in logs and request IDs: the HTTP request's own ID for an event stream. */
  connect(caller: Caller, explain: boolean, transport: SubscriptionTransport, id: string = randomUUID()): SubscriptionConnection {
    this.open += 1;
    this.options.services.telemetry.logger.debug({ caller: caller.id, transport, connection: id }, 'subscription connection opened');
    return { id, transport, caller, explain, active: new Set() };
  }

  /** Ends every subscription still running on the connection. */
  disconnect(connection: SubscriptionConnection, detail: Record<string, unknown> = {}): void {
    for (const id of [...connection.active]) this.release(connection, id);
    this.open -= 1;
    this.options.services.telemetry.logger.debug({ caller: connection.caller.id, transport: connection.transport, ...detail }, 'subscription connection closed');
  }

  /**
   * The execution arguments of a subscription the bounds admit (counted as active until `release`), or the errors
   * that refuse it: over a limit, over the structural limits, unparsable, invalid, or not a subscription at all.
   */
  admit(connection: SubscriptionConnection, id: string, request: OperationRequest): ExecutionArgs | GraphQLError[] {
    const { services, schema } = this.options;
    const limits = services.config.server.subscriptions;
    const { metrics } = services.telemetry;
    if (connection.active.size >= limits.maxPerConnection) {
      metrics.recordSubscriptionRefusal('limit');
      return refusal(`at most ${limits.maxPerConnection} subscriptions per connection`, ErrorCode.SUBSCRIPTION_LIMIT);
    }
    if ((this.perCaller.get(connection.caller.id) ?? 0) >= limits.maxPerCaller) {
      metrics.recordSubscriptionRefusal('limit');
      return refusal(`at most ${limits.maxPerCaller} subscriptions per caller`, ErrorCode.SUBSCRIPTION_LIMIT);
    }
    if (typeof request.query !== 'string') {
      metrics.recordSubscriptionRefusal('invalid');
      return refusal('the request has no query', ErrorCode.BAD_REQUEST);
    }
    const refused = this.options.guardQuery(request.query);
    if (refused.length > 0) {
      metrics.recordSubscriptionRefusal('invalid');
      return refused.map((error) => new GraphQLError(error.message, { extensions: { ...error.extensions, code: ErrorCode.GRAPHQL_VALIDATION_FAILED } }));
    }
    let document: DocumentNode;
    try {
      document = parse(request.query, { maxTokens: services.config.limits.maxTokens });
    } catch (error) {
      metrics.recordSubscriptionRefusal('invalid');
      return refusal((error as Error).message, ErrorCode.GRAPHQL_PARSE_FAILED);
    }
    const operation = getOperationAST(document, request.operationName);
    if (operation?.operation !== 'subscription') {
      metrics.recordSubscriptionRefusal('invalid');
      // Queries and mutations go through Apollo over HTTP, where every plugin (limits, audit, metrics) sees them.
      return refusal(`only subscriptions are served over ${connection.transport === 'ws' ? 'WebSocket' : 'server-sent events'}: send queries and mutations to /graphql over HTTP`, ErrorCode.BAD_REQUEST);
    }
    const invalid = validate(schema, document);
    if (invalid.length > 0) {
      metrics.recordSubscriptionRefusal('invalid');
      return invalid.map((error) => new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: ErrorCode.GRAPHQL_VALIDATION_FAILED } }));
    }
    const requestId = `${connection.transport}:${connection.id}:${id}`;
    const contextValue = this.options.makeContext(requestId, connection.explain, connection.caller);
    let event = 0;
    this.freshContexts.set(contextValue, () => this.options.makeContext(`${requestId}:${++event}`, connection.explain, connection.caller));
    connection.active.add(id);
    this.perCaller.set(connection.caller.id, (this.perCaller.get(connection.caller.id) ?? 0) + 1);
    metrics.subscriptionOpened();
    return { schema, document, operationName: request.operationName ?? null, variableValues: request.variables ?? null, contextValue };
  }

  /** A subscription ended (completed, stopped by the client, or its connection closed): it no longer counts. */
  release(connection: SubscriptionConnection, id: string): void {
    if (!connection.active.delete(id)) return;
    const left = (this.perCaller.get(connection.caller.id) ?? 1) - 1;
    if (left > 0) this.perCaller.set(connection.caller.id, left);
    else this.perCaller.delete(connection.caller.id);
    this.options.services.telemetry.metrics.subscriptionClosed();
  }

  /**
   * graphql-js runs every event of a subscription with the context it started with; the hub's contexts hold
   * per-request loaders (a cache) and a deadline, so each event gets a new one, built as a query's would be.
   */
  subscribe(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
    const fresh = this.freshContexts.get(args.contextValue as RequestContext);
    if (!fresh) throw new Error('a subscription started without the hub building its context');
    return subscribeWithFreshContexts(args, fresh, finishEvent);
  }

  /** A result as a client receives it: errors through the hub's one formatter (codes kept, no stack traces). */
  format(result: ExecutionResult): FormattedExecutionResult {
    const { errors, ...rest } = result;
    return { ...rest, ...(errors ? { errors: this.formatErrors(errors) } : {}) };
  }

  formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
    return errors.map((error) => formatError(error.toJSON(), error));
  }
}
