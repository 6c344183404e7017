// Tells the other processes sharing a PostgreSQL link store which customers' links changed (LISTEN/NOTIFY).
import type { Client } from 'pg';
import type { Logger } from 'pino';

export const INVALIDATION_CHANNEL = 'rosetta_links';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; the margin is for the envelope's own bytes. */
const MAX_PAYLOAD_BYTES = 7_900;
/** Past this many notifications for one change, telling every process to drop everything is cheaper. */
const MAX_NOTIFICATIONS_PER_CHANGE = 16;
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/** What is cached of these customers is stale; `all` when too many changed to list, or notifications were missed. */
export type InvalidationListener = (customerIds: string[] | 'all') => void;

/**
 * One change's invalidation, as notification payloads. `origin` names the store instance that made the
 * change (so it can skip its own), `schema` the link table (several may share a database, as tests do).
 */
interface InvalidationMessage {
  origin: string;
  schema: string;
  ids: string[] | '*';
}

export function invalidationPayloads(origin: string, schema: string, customerIds: readonly string[]): string[] {
  const everything = [JSON.stringify({ origin, schema, ids: '*' } satisfies InvalidationMessage)];
  const envelopeBytes = Buffer.byteLength(JSON.stringify({ origin, schema, ids: [] } satisfies InvalidationMessage));
  const payloads: string[] = [];
  let chunk: string[] = [];
  let chunkBytes = envelopeBytes;
  for (const id of new Set(customerIds)) {
    const idBytes = Buffer.byteLength(JSON.stringify(id)) + 1;
    if (envelopeBytes + idBytes > MAX_PAYLOAD_BYTES) return everything;
    if (chunkBytes + idBytes > MAX_PAYLOAD_BYTES) {
      payloads.push(JSON.stringify({ origin, schema, ids: chunk } satisfies InvalidationMessage));
      chunk = [];
      chunkBytes = envelopeBytes;
    }
    chunk.push(id);
    chunkBytes += idBytes;
  }
  if (chunk.length > 0) payloads.push(JSON.stringify({ origin, schema, ids: chunk } satisfies InvalidationMessage));
  return payloads.length > MAX_NOTIFICATIONS_PER_CHANGE ? everything : payloads;
}

function parseMessage(payload: string | undefined): InvalidationMessage | null {
  if (!payload) return null;
  try {
    const message = JSON.parse(payload) as Partial<InvalidationMessage>;
    const idsValid = message.ids === '*' || (Array.isArray(message.ids) && message.ids.every((id) => typeof id === 'string'));
    return typeof message.origin === 'string' && typeof message.schema === 'string' && idsValid ? (message as InvalidationMessage) : null;
  } catch {
    // Anyone with access to the database can NOTIFY on the channel: a payload we did not write is not ours to act on.
    return null;
  }
}

/**
 * Holds one dedicated connection LISTENing on the channel and hands other processes' invalidations of
 * this schema to the subscribers. A lost connection is re-established with backoff; notifications sent
 * while it was down are lost, so a reconnect invalidates everything.
 */
export class InvalidationSubscriber {
  private readonly listeners = new Set<InvalidationListener>();
  private client: Client | null = null;
  private retryMs = MIN_RETRY_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  private constructor(
    private readonly connect: () => Client,
    private readonly origin: string,
    private readonly schema: string,
    private readonly logger: Logger,
  ) {}

  /** Resolves once LISTEN is in effect, so no change committed after this can be missed. */
  static async start(options: { connect: () => Client; origin: string; schema: string; logger: Logger }): Promise<InvalidationSubscriber> {
    const subscriber = new InvalidationSubscriber(options.connect, options.origin, options.schema, options.logger);
    await subscriber.listen();
    return subscriber;
  }

  subscribe(listener: InvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async listen(): Promise<void> {
    const client = this.connect();
    client.on('notification', (notification) => this.deliver(notification.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined); // already failed: the error worth reporting is the one thrown below
      throw error;
    }
    if (this.closed) {
      await client.end();
      return;
    }
    this.client = client;
    this.retryMs = MIN_RETRY_MS;
  }

  private lost(client: Client, error: Error): void {
    if (client !== this.client) return;
    this.client = null;
    client.end().catch(() => undefined); // the connection is gone either way; `error` says why
    if (this.closed) return;
    this.logger.warn({ err: error }, 'link invalidation connection lost; reconnecting');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.listen().then(
        () => {
          if (this.closed) return;
          this.logger.info('link invalidation connection re-established');
          this.emit('all');
        },
        (error: unknown) => {
          if (this.closed) return;
          this.logger.warn({ err: error, retryMs: this.retryMs }, 'link invalidation reconnect failed');
          this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
          this.scheduleReconnect();
        },
      );
    }, this.retryMs);
    this.retryTimer.unref();
  }

  private deliver(payload: string | undefined): void {
    const message = parseMessage(payload);
    if (!message || message.schema !== this.schema || message.origin === this.origin) return;
    this.emit(message.ids === '*' ? 'all' : message.ids);
  }

  private emit(ids: string[] | 'all'): void {
    for (const listener of this.listeners) {
      try {
        listener(ids);
      } catch (error) {
        this.logger.error({ err: error }, 'link invalidation listener failed');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    await client?.end();
  }
}
