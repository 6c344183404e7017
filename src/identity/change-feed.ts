// What changed in the link table, as events for live subscribers: published once by the link service, heard by
// every subscriber of this process, and carried to other processes by a transport (NOTIFY, the cluster relay).
import type { Logger } from 'pino';
import type { ChangeKind } from '../generated/graphql.js';

export interface CustomerChange {
  kind: ChangeKind;
  /** The customer the change happened to (on a MERGE, the one merged away). */
  customerId: string;
  /** On a MERGE, the customer that absorbed `customerId`. */
  survivorId: string | null;
  /** On a SPLIT, the customer the records split off now form. */
  splitOffId: string | null;
  /** The source record that changed; null on a MERGE or FORGET, which concern a customer rather than one record. */
  source: string | null;
  entity: string | null;
  recordId: string | null;
  /** ISO-8601 time the hub applied the change. */
  at: string;
}

/** A change as one subscription receives it: with how many events its rate limit withheld since the last one. */
export interface DeliveredChange extends CustomerChange {
  missed: number;
}

/** Carries changes between the processes of one deployment; each process hears the others', never its own. */
export interface CustomerChangeTransport {
  publish(changes: readonly CustomerChange[]): Promise<void>;
  /** `missed` when changes may have been lost on the way (a LISTEN connection re-established). */
  subscribe(listener: (changes: readonly CustomerChange[] | 'missed') => void): () => void;
}

export type ChangeListener = (changes: readonly CustomerChange[]) => void;

export interface StreamOptions {
  /** Events per second this stream delivers; the rest are withheld and counted in the next delivered `missed`. */
  maxPerSecond: number;
  /** Events waiting for a slow reader at most; past it the oldest are withheld the same way. */
  maxQueued: number;
  /** Told of every event withheld, for the metrics. */
  onWithheld?: (count: number) => void;
  now?: () => number;
}

/**
 * An in-process fan-out of link-table changes. `publish` is for the changes this process made (they also go out to
 * the other processes through `outbound`), `deliver` for the ones it heard of from elsewhere.
 */
/** A stream's consumer side: changes queued for it, or the consumer waiting (on an empty queue), or ended. */
type StreamPhase =
  | { phase: 'buffering'; queue: DeliveredChange[] }
  | { phase: 'awaited'; resolve: (result: IteratorResult<DeliveredChange, undefined>) => void }
  | { phase: 'done' };

export class ChangeFeed {
  private readonly listeners = new Set<ChangeListener>();
  private readonly outbound = new Set<(changes: readonly CustomerChange[]) => void>();
  /** Changes heard of from other processes and delivered here, for tests and metrics. */
  received = 0;

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Registers a carrier of this process's own changes to other processes. */
  onPublish(carry: (changes: readonly CustomerChange[]) => void): () => void {
    this.outbound.add(carry);
    return () => this.outbound.delete(carry);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  publish(changes: readonly CustomerChange[]): void {
    if (changes.length === 0) return;
    this.fanOut(changes);
    for (const carry of this.outbound) carry(changes);
  }

  /** Changes another process made: delivered to this process's subscribers only. */
  deliver(changes: readonly CustomerChange[]): void {
    if (changes.length === 0) return;
    this.received += changes.length;
    this.fanOut(changes);
  }

  private fanOut(changes: readonly CustomerChange[]): void {
    for (const listener of this.listeners) listener(changes);
  }

  /**
   * The changes `accept` keeps, as an async iterator for a GraphQL subscription: bounded in rate and in queue
   * length, and detached from the feed as soon as the consumer returns.
   */
  stream(accept: (change: CustomerChange) => boolean, options: StreamOptions): AsyncGenerator<DeliveredChange, undefined, unknown> {
    const now = options.now ?? Date.now;
    // One state, not a queue, a waiting consumer and a done flag side by side: a consumer waits only on an empty
    // queue, and a finished stream holds neither.
    let phase: StreamPhase = { phase: 'buffering', queue: [] };
    let withheld = 0;
    let tokens = options.maxPerSecond;
    let refilledAt = now();
    const withhold = (count: number) => {
      withheld += count;
      options.onWithheld?.(count);
    };
    const unsubscribe = this.subscribe((changes) => {
      for (const change of changes) {
        if (phase.phase === 'done' || !accept(change)) continue;
        // A token bucket: bursts up to one second's worth, then the configured rate.
        const at = now();
        tokens = Math.min(options.maxPerSecond, tokens + ((at - refilledAt) / 1000) * options.maxPerSecond);
        refilledAt = at;
        if (tokens < 1) {
          withhold(1);
          continue;
        }
        tokens -= 1;
        const delivered: DeliveredChange = { ...change, missed: withheld };
        withheld = 0;
        if (phase.phase === 'awaited') {
          const { resolve } = phase;
          phase = { phase: 'buffering', queue: [] };
          resolve({ value: delivered, done: false });
          continue;
        }
        const { queue } = phase;
        queue.push(delivered);
        if (queue.length > options.maxQueued) {
          // The oldest waiting event goes; the next one in line says it, and what the dropped one said, was missed.
          const dropped = queue.shift()!;
          options.onWithheld?.(1);
          queue[0] = { ...queue[0]!, missed: queue[0]!.missed + 1 + dropped.missed };
        }
      }
    });
    const finish = (): IteratorResult<DeliveredChange, undefined> => {
      const was = phase;
      phase = { phase: 'done' };
      unsubscribe();
      if (was.phase === 'awaited') was.resolve({ value: undefined, done: true });
      return { value: undefined, done: true };
    };
    const iterator: AsyncGenerator<DeliveredChange, undefined, unknown> = {
      next: () => {
        switch (phase.phase) {
          case 'buffering':
            if (phase.queue.length > 0) return Promise.resolve({ value: phase.queue.shift()!, done: false });
            return new Promise((resolve) => (phase = { phase: 'awaited', resolve }));
          // A second `next` before the first settled (for await never does this) takes the first one's place.
          case 'awaited':
            return new Promise((resolve) => (phase = { phase: 'awaited', resolve }));
          case 'done':
            return Promise.resolve({ value: undefined, done: true });
        }
      },
      // graphql-ws ends a subscription by calling `return`: it must settle at once, even while `next` is pending.
      return: () => Promise.resolve(finish()),
      throw: (error: unknown) => {
        finish();
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}

/**
 * Sends this process's changes to the other processes through `transport` and delivers theirs here. A change that
 * cannot be sent, or may have been lost on the way, is logged: the other processes' subscribers miss it.
 */
export function relayCustomerChanges(feed: ChangeFeed, transport: CustomerChangeTransport, { logger }: { logger: Logger }): void {
  feed.onPublish((changes) => {
    transport.publish(changes).catch((error: unknown) => {
      logger.warn({ err: error, changes: changes.length }, 'customer changes not carried to the other replicas: their subscribers miss these events');
    });
  });
  transport.subscribe((changes) => {
    if (changes === 'missed') logger.warn('customer change events from other replicas may have been missed while their channel was down');
    else feed.deliver(changes);
  });
}
