// The messages a cluster primary and its hub workers exchange over IPC (structured clone: `serialization: 'advanced'`).
import type { HubConfig } from '../config/schema.js';
import type { CustomerChange } from '../identity/change-feed.js';
import type { RecordRef } from '../sources/record-cache.js';

/** What one worker process costs, for a benchmark that reads CPU and memory per hub. */
export interface WorkerUsage {
  /** The worker's number, 1 to N: its slot, kept when it is restarted. */
  worker: number;
  pid: number;
  /** `process.cpuUsage()` since the worker started, in microseconds. */
  cpuUserMicros: number;
  cpuSystemMicros: number;
  rssBytes: number;
  heapUsedBytes: number;
}

/** Link-table changes and record invalidations one worker made, for the others to drop from their caches. */
export type Invalidation =
  | { type: 'rosetta:invalidate-links'; customerIds: readonly string[] | 'all' }
  | { type: 'rosetta:invalidate-records'; records: readonly RecordRef[] }
  /** Change events for the other workers' live subscribers (change-feed.ts). */
  | { type: 'rosetta:customer-changes'; changes: readonly CustomerChange[] };

export type PrimaryMessage =
  /** The parsed config (before the worker takes its share of the caps), and which slot (0-based) of how many this is. */
  | { type: 'rosetta:start'; config: HubConfig; workers: number; slot: number; drainTimeoutMs: number }
  | Invalidation
  /** The primary aggregates a scrape: the worker answers with its registry as JSON. */
  | { type: 'rosetta:collect-metrics'; requestId: number }
  /** The aggregate a worker asked for to answer GET /metrics. */
  | { type: 'rosetta:metrics'; requestId: number; text: string; contentType: string }
  | { type: 'rosetta:metrics'; requestId: number; error: string }
  | { type: 'rosetta:collect-usage'; requestId: number }
  /** Stop taking connections, finish what is in flight, close and exit 0. */
  | { type: 'rosetta:drain' };

export type WorkerMessage =
  /** The worker listens for messages now: the primary may send it `start`. */
  | { type: 'rosetta:hello' }
  | { type: 'rosetta:ready'; url: string }
  | { type: 'rosetta:failed'; message: string }
  | Invalidation
  | { type: 'rosetta:scrape'; requestId: number }
  | { type: 'rosetta:metrics-json'; requestId: number; metrics: readonly object[] }
  | { type: 'rosetta:metrics-json'; requestId: number; error: string }
  | { type: 'rosetta:usage'; requestId: number; usage: WorkerUsage };

export function isRosettaMessage<T extends { type: string }>(message: unknown): message is T {
  return typeof message === 'object' && message !== null && typeof (message as { type?: unknown }).type === 'string' && (message as { type: string }).type.startsWith('rosetta:');
}
