// Tells the other processes sharing a PostgreSQL link store which customers' links, and which cached source
// records, changed (LISTEN/NOTIFY).
import type { Client } from 'pg';
import type { Logger } from 'pino';
import type { CustomerChange } from './change-feed.js';
import type { RecordKey } from './model.js';

export const INVALIDATION_CHANNEL = 'rosetta_links';
/**
 * Record-cache invalidations (webhooks, forgets) get a channel of their own: they come far more often than link
 * changes, and a process listening for links alone (an older replica during an upgrade) then never wakes for them.
 */
export const RECORD_INVALIDATION_CHANNEL = 'rosetta_records';
/** Customer change events for live subscribers (change-feed.ts): heard by every replica, acted on by few. */
export const CHANGE_CHANNEL = 'rosetta_changes';

/** PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; the margin is for the envelope's own bytes. */
const MAX_PAYLOAD_BYTES = 7_900;
/** Past this many notifications for one change, telling every process to drop everything is cheaper. */
const MAX_NOTIFICATIONS_PER_CHANGE = 16;
const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/** What is cached of these customers is stale; `all` when too many changed to list, or notifications were missed. */
export type InvalidationListener = (customerIds: string[] | 'all') => void;
/** What is cached of these source records is stale; `all` when one could not be listed, or notifications were missed. */
export type RecordInvalidationListener = (records: RecordKey[] | 'all') => void;

/**
 * One change's invalidation, as notification payloads. `origin` names the store instance that made the
 * change (so it can skip its own), `schema` the link table (several may share a database, as tests do).
 * Links list customer IDs under `ids`; records list `[source, entity, recordId]` under `records`.
 */
interface Envelope {
  origin: string;
  schema: string;
}
type RecordTuple = [source: string, entity: string, recordId: string];

/**
 * `items` listed under `field` in as few payloads as fit under the limit; one `'*'` ("everything") payload instead
 * when a single item would not fit, or listing them all would take more than `maxNotifications`.
 */
function chunkedPayloads(envelope: Envelope, field: string, items: Iterable<unknown>, maxNotifications: number): string[] {
  const payload = (list: unknown[] | '*') => JSON.stringify({ ...envelope, [field]: list });
  const everything = [payload('*')];
  const envelopeBytes = Buffer.byteLength(payload([]));
  const payloads: string[] = [];
  let chunk: unknown[] = [];
  let chunkBytes = envelopeBytes;
  for (const item of items) {
    const itemBytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (envelopeBytes + itemBytes > MAX_PAYLOAD_BYTES) return everything;
    if (chunkBytes + itemBytes > MAX_PAYLOAD_BYTES) {
      payloads.push(payload(chunk));
      chunk = [];
      chunkBytes = envelopeBytes;
    }
    chunk.push(item);
    chunkBytes += itemBytes;
  }
  if (chunk.length > 0) payloads.push(payload(chunk));
  return payloads.length > maxNotifications ? everything : payloads;
}

export function invalidationPayloads(origin: string, schema: string, customerIds: readonly string[]): string[] {
  return chunkedPayloads({ origin, schema }, 'ids', new Set(customerIds), MAX_NOTIFICATIONS_PER_CHANGE);
}

/**
 * No cap on the number of notifications: "everything" would make every replica read its whole record cache again
 * from the sources, while the list is bounded by what one webhook body or one forgotten customer holds.
 */
export function recordInvalidationPayloads(origin: string, schema: string, records: readonly RecordKey[]): string[] {
  const tuples = new Map<string, RecordTuple>();
  for (const { source, entity, recordId } of records) {
    const tuple: RecordTuple = [source, entity, recordId];
    tuples.set(JSON.stringify(tuple), tuple);
  }
  return chunkedPayloads({ origin, schema }, 'records', tuples.values(), Infinity);
}

/** Change events as `[kind, customerId, survivorId, splitOffId, source, entity, recordId, at]` tuples, in as many payloads as they need. */
export function changePayloads(origin: string, schema: string, changes: readonly CustomerChange[]): string[] {
  return chunkedPayloads({ origin, schema }, 'changes', changes.map((c) => [c.kind, c.customerId, c.survivorId, c.splitOffId, c.source, c.entity, c.recordId, c.at]), Infinity);
}

const CHANGE_KINDS: ReadonlySet<string> = new Set(['UPSERT', 'DELETE', 'MERGE', 'SPLIT', 'FORGET']);

function changesOf(message: Record<string, unknown>): CustomerChange[] | null {
  const { changes } = message;
  if (!Array.isArray(changes)) return null;
  const parsed: CustomerChange[] = [];
  for (const tuple of changes) {
    if (!Array.isArray(tuple) || tuple.length !== 8) return null;
    const [kind, customerId, survivorId, splitOffId, source, entity, recordId, at] = tuple as unknown[];
    const text = (value: unknown) => typeof value === 'string';
    const maybe = (value: unknown) => value === null || typeof value === 'string';
    if (!text(kind) || !CHANGE_KINDS.has(kind as string) || !text(customerId) || !maybe(survivorId) || !maybe(splitOffId) || !maybe(source) || !maybe(entity) || !maybe(recordId) || !text(at)) return null;
    parsed.push({ kind: kind as CustomerChange['kind'], customerId: customerId as string, survivorId: survivorId as string | null, splitOffId: splitOffId as string | null, source: source as string | null, entity: entity as string | null, recordId: recordId as string | null, at: at as string });
  }
  return parsed;
}

function parseEnvelope(payload: string | undefined): (Envelope & Record<string, unknown>) | null {
  if (!payload) return null;
  try {
    const message = JSON.parse(payload) as unknown;
    if (typeof message !== 'object' || message === null) return null;
    const envelope = message as Partial<Envelope> & Record<string, unknown>;
    return typeof envelope.origin === 'string' && typeof envelope.schema === 'string' ? (envelope as Envelope & Record<string, unknown>) : null;
  } catch {
    // Anyone with access to the database can NOTIFY on the channel: a payload we did not write is not ours to act on.
    return null;
  }
}

function customerIdsOf(message: Record<string, unknown>): string[] | 'all' | null {
  const { ids } = message;
  if (ids === '*') return 'all';
  return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? (ids as string[]) : null;
}

function recordsOf(message: Record<string, unknown>): RecordKey[] | 'all' | null {
  const { records } = message;
  if (records === '*') return 'all';
  const isTuple = (tuple: unknown): tuple is RecordTuple => Array.isArray(tuple) && tuple.length === 3 && tuple.every((part) => typeof part === 'string');
  if (!Array.isArray(records) || !records.every(isTuple)) return null;
  return records.map(([source, entity, recordId]) => ({ source, entity, recordId }));
}

/**
 * Whether other processes' changes reach this one. While `reconnecting`, they do not: what this process caches may
 * be stale without it knowing, so readiness reports it (`notifications_lost`) until LISTEN is in effect again.
 */
export type ListenState = { kind: 'listening' } | { kind: 'reconnecting'; since: Date; cause: string } | { kind: 'closed' };

/** `retryMs`: the wait before the next attempt; `timer`: that wait, null while the attempt itself is under way. */
type Reconnecting = { kind: 'reconnecting'; since: Date; cause: string; retryMs: number; timer: NodeJS.Timeout | null };

/** The subscriber's lifecycle: `connecting` only until `start` resolves; `closed` is final. */
type Phase = { kind: 'connecting' } | { kind: 'listening'; client: Client } | Reconnecting | { kind: 'closed' };

/**
 * Holds one dedicated connection LISTENing on both channels and hands other processes' invalidations of
 * this schema to the subscribers. A lost connection is re-established with backoff, for as long as it takes (a
 * database dropped and recreated included); notifications sent while it was down are lost, so a reconnect
 * invalidates everything.
 */
export class InvalidationSubscriber {
  private readonly listeners = new Set<InvalidationListener>();
  private readonly recordListeners = new Set<RecordInvalidationListener>();
  private readonly changeListeners = new Set<(changes: readonly CustomerChange[] | 'missed') => void>();
  /**
   * One state instead of a client, a timer, a retry delay and a closed flag side by side: a connection is held only
   * while listening, a retry timer only while reconnecting (null while an attempt is under way), nothing once closed.
   */
  private phase: Phase = { kind: 'connecting' };

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

  get state(): ListenState {
    switch (this.phase.kind) {
      // `start` resolves only once listening: no caller sees the first connection being made.
      case 'connecting':
      case 'listening':
        return { kind: 'listening' };
      case 'reconnecting':
        return { kind: 'reconnecting', since: this.phase.since, cause: this.phase.cause };
      case 'closed':
        return { kind: 'closed' };
    }
  }

  subscribe(listener: InvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  subscribeRecords(listener: RecordInvalidationListener): () => void {
    this.recordListeners.add(listener);
    return () => this.recordListeners.delete(listener);
  }

  subscribeChanges(listener: (changes: readonly CustomerChange[] | 'missed') => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private async listen(): Promise<void> {
    const client = this.connect();
    client.on('notification', (notification) => this.deliver(notification.channel, notification.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${INVALIDATION_CHANNEL}; LISTEN ${RECORD_INVALIDATION_CHANNEL}; LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined); // already failed: the error worth reporting is the one thrown below
      throw error;
    }
    if (this.phase.kind === 'closed') {
      await client.end();
      return;
    }
    this.phase = { kind: 'listening', client };
  }

  private lost(client: Client, error: Error): void {
    if (this.phase.kind !== 'listening' || this.phase.client !== client) return;
    client.end().catch(() => undefined); // the connection is gone either way; `error` says why
    this.logger.warn({ err: error }, 'invalidation LISTEN connection (links and records) lost; reconnecting');
    this.scheduleReconnect({ kind: 'reconnecting', since: new Date(), cause: error.message, retryMs: MIN_RETRY_MS, timer: null });
  }

  private scheduleReconnect(reconnecting: Reconnecting): void {
    const timer = setTimeout(() => {
      const attempt: Reconnecting = { ...reconnecting, timer: null };
      this.phase = attempt;
      this.listen().then(
        () => {
          if (this.phase.kind === 'closed') return;
          this.logger.info('invalidation LISTEN connection (links and records) re-established');
          this.emit(this.listeners, 'all');
          this.emit(this.recordListeners, 'all');
          this.emit(this.changeListeners, 'missed');
        },
        (error: unknown) => {
          if (this.phase.kind === 'closed') return;
          this.logger.warn({ err: error, retryMs: attempt.retryMs }, 'invalidation LISTEN connection (links and records) reconnect failed');
          this.scheduleReconnect({ ...attempt, cause: (error as Error).message, retryMs: Math.min(attempt.retryMs * 2, MAX_RETRY_MS) });
        },
      );
    }, reconnecting.retryMs);
    timer.unref();
    this.phase = { ...reconnecting, timer };
  }

  private deliver(channel: string, payload: string | undefined): void {
    const message = parseEnvelope(payload);
    if (!message || message.schema !== this.schema || message.origin === this.origin) return;
    if (channel === INVALIDATION_CHANNEL) {
      const customerIds = customerIdsOf(message);
      if (customerIds) this.emit(this.listeners, customerIds);
    } else if (channel === RECORD_INVALIDATION_CHANNEL) {
      const records = recordsOf(message);
      if (records) this.emit(this.recordListeners, records);
    } else if (channel === CHANGE_CHANNEL) {
      const changes = changesOf(message);
      if (changes) this.emit(this.changeListeners, changes);
    }
  }

  private emit<T>(listeners: ReadonlySet<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        this.logger.error({ err: error }, 'invalidation listener failed');
      }
    }
  }

  async close(): Promise<void> {
    const was = this.phase;
    this.phase = { kind: 'closed' };
    switch (was.kind) {
      case 'listening':
        return was.client.end();
      case 'reconnecting':
        if (was.timer) clearTimeout(was.timer);
        return;
      // A connection being made (the first, or a reconnect's) sees `closed` once made and ends itself.
      case 'connecting':
      case 'closed':
        return;
    }
  }
}
