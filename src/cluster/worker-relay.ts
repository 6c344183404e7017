// A hub worker's side of the cluster's IPC: its cache invalidations out to the other workers (through the primary)
// and theirs in, its metrics for the primary's aggregate, and the aggregate for its own GET /metrics. Link writes
// need no lock here: each store serialises them across processes itself (SQLite BEGIN IMMEDIATE, PostgreSQL advisory lock).
import type { RecordRef } from '../sources/record-cache.js';
import { isRosettaMessage, type Invalidation, type PrimaryMessage, type WorkerMessage, type WorkerUsage } from './cluster-messages.js';
import type { HubServices } from '../request/context.js';

/** The worker's end of the IPC channel (the process itself in a cluster worker; a stand-in in tests). */
export interface RelayChannel {
  send(message: WorkerMessage): void;
  onMessage(listener: (message: unknown) => void): void;
  /** False once the primary is gone or the worker has disconnected. */
  readonly connected: boolean;
}

export function processChannel(): RelayChannel {
  return {
    send: (message) => {
      // During the last moments of a drain the channel may already be closed: nothing is listening any more.
      if (process.connected) process.send!(message);
    },
    onMessage: (listener) => process.on('message', listener),
    get connected() {
      return process.connected;
    },
  };
}

/** How long a worker waits for the primary's aggregate of every worker's metrics before answering 503. */
const SCRAPE_TIMEOUT_MS = 5_000;

export class WorkerRelay {
  private nextRequestId = 0;
  private readonly pending = new Map<number, (message: PrimaryMessage) => void>();
  private services: HubServices | null = null;
  /** Set while applying another worker's invalidation, so it is not sent back out as this worker's own. */
  private applyingRemote = false;

  constructor(
    private readonly channel: RelayChannel,
    /** This worker's number, 1 to N. */
    private readonly worker: number,
  ) {
    channel.onMessage((message) => {
      if (isRosettaMessage<PrimaryMessage>(message)) this.receive(message);
    });
  }

  /**
   * Relays the services' invalidations both ways. Link and record invalidations travel only when `relayLinks` and
   * `relayRecords`: a store that carries them itself (PostgreSQL's LISTEN/NOTIFY) already reaches every worker, and
   * relaying them here too would send each twice.
   */
  attach(services: HubServices, { relayLinks, relayRecords, relayChanges = relayLinks }: { relayLinks: boolean; relayRecords: boolean; relayChanges?: boolean }): void {
    this.services = services;
    if (relayChanges) services.changes.onPublish((changes) => this.sendOwn({ type: 'rosetta:customer-changes', changes: [...changes] }));
    if (relayLinks) services.directory.onInvalidate((customerIds) => this.sendOwn({ type: 'rosetta:invalidate-links', customerIds: customerIds === 'all' ? 'all' : [...customerIds] }));
    if (relayRecords) services.recordCache.onInvalidate((records) => this.sendOwn({ type: 'rosetta:invalidate-records', records: records.map(({ source, entity, recordId }) => ({ source, entity, recordId })) }));
  }

  /** Every worker's metrics, aggregated by the primary (counters and histograms summed), as Prometheus text. */
  async clusterMetrics(): Promise<{ text: string; contentType: string }> {
    const reply = await this.ask((requestId) => ({ type: 'rosetta:scrape', requestId }), SCRAPE_TIMEOUT_MS);
    if (reply.type !== 'rosetta:metrics') throw new Error(`unexpected reply ${reply.type}`);
    if ('error' in reply) throw new Error(reply.error);
    return { text: reply.text, contentType: reply.contentType };
  }

  private sendOwn(message: Invalidation): void {
    if (!this.applyingRemote) this.channel.send(message);
  }

  private receive(message: PrimaryMessage): void {
    switch (message.type) {
      case 'rosetta:invalidate-links':
      case 'rosetta:invalidate-records':
        return this.applyRemote(message);
      case 'rosetta:customer-changes':
        // Delivered to this worker's subscribers only: `deliver` does not publish, so nothing is sent back out.
        return this.services?.changes.deliver(message.changes);
      case 'rosetta:collect-metrics':
        return void this.sendMetrics(message.requestId);
      case 'rosetta:collect-usage':
        return this.channel.send({ type: 'rosetta:usage', requestId: message.requestId, usage: this.usage() });
      case 'rosetta:metrics': {
        const settle = this.pending.get(message.requestId);
        this.pending.delete(message.requestId);
        settle?.(message);
        return;
      }
      default:
        return;
    }
  }

  private applyRemote(message: Exclude<Invalidation, { type: 'rosetta:customer-changes' }>): void {
    const services = this.services;
    if (!services) return;
    this.applyingRemote = true;
    try {
      if (message.type === 'rosetta:invalidate-records') services.recordCache.invalidate(message.records as RecordRef[]);
      else if (message.customerIds === 'all') services.directory.clear();
      else services.directory.invalidate(message.customerIds);
    } finally {
      this.applyingRemote = false;
    }
  }

  private async sendMetrics(requestId: number): Promise<void> {
    try {
      const metrics = this.services ? await this.services.telemetry.metrics.registry.getMetricsAsJSON() : [];
      this.channel.send({ type: 'rosetta:metrics-json', requestId, metrics });
    } catch (error) {
      this.channel.send({ type: 'rosetta:metrics-json', requestId, error: error instanceof Error ? error.message : String(error) });
    }
  }

  private usage(): WorkerUsage {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    return { worker: this.worker, pid: process.pid, cpuUserMicros: cpu.user, cpuSystemMicros: cpu.system, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed };
  }

  /** Sends the request made for a new request ID and resolves with the primary's reply to it. */
  private ask(request: (requestId: number) => WorkerMessage, timeoutMs: number): Promise<PrimaryMessage> {
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            this.pending.delete(requestId);
            reject(new Error(`the cluster primary did not answer within ${timeoutMs} ms`));
          }, timeoutMs)
        : undefined;
      this.pending.set(requestId, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.channel.send(request(requestId));
    });
  }
}
