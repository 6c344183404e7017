// Runs the hub on every core: a primary forks N hub workers (node:cluster) that share one port, round-robin. The
// primary serves no request itself: it restarts workers that die (with backoff, up to a cap), relays cache
// invalidations between them, and aggregates their metrics (link writes are serialised by the store itself), and
// drains them all on close.
import cluster, { type Worker } from 'node:cluster';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { HubConfig } from '../config/schema.js';
import type { LinkStore } from '../identity/store.js';
import { createLogger } from '../logging/logger.js';
import { isRosettaMessage, type PrimaryMessage, type WorkerMessage, type WorkerUsage } from './cluster-messages.js';
import { drainHttpServer } from '../server/http-drain.js';
import { openLinkStore, startHub } from '../server/hub.js';
import { workerCount } from './per-worker-config.js';
import { DEFAULT_RESTART_POLICY, RestartPolicy, type RestartPolicyOptions } from './restart-policy.js';

/**
 * Workers run what this process runs: compiled (dist/, `rosetta serve`), the JavaScript beside this file; from the
 * TypeScript sources (tests, benches), the sources through tsx's loader, which only then needs to be installed.
 */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const WORKER_MODULE = fileURLToPath(new URL(FROM_SOURCES ? './cluster-worker.ts' : './cluster-worker.js', import.meta.url));
/** A worker's answer to the primary's collection (metrics, usage) is due within this. */
const COLLECT_TIMEOUT_MS = 4_000;
/** After a worker's drain bound, how long the primary waits for it to exit before killing it. */
const EXIT_GRACE_MS = 5_000;

export interface ClusterOptions {
  /** Default: `server.workers` of the config (`auto`: one per core). */
  workers?: number;
  /** The primary's logger (workers log through their own, bound to `worker`). */
  logger?: Logger;
  restart?: Partial<RestartPolicyOptions>;
  /** How long a worker may take to finish its requests in flight at close. Default: the query deadline plus 2 s. */
  drainTimeoutMs?: number;
}

export interface RunningCluster {
  url: string;
  workers: number;
  /** The workers alive now: number (1 to N, kept across restarts) and process ID. */
  livingWorkers(): { worker: number; pid: number }[];
  /** CPU and memory of every ready worker (the primary's own is `process.cpuUsage()`). */
  usage(): Promise<WorkerUsage[]>;
  /** Settles if every worker crashed too often to be restarted: the hub serves nothing any more. */
  readonly lost: Promise<void>;
  /** Drains every worker (requests in flight are answered) and resolves once all have exited. */
  close(): Promise<void>;
}

/**
 * Where one worker slot is: a worker only while `starting` or `serving`, a restart timer only while `restarting`;
 * `given-up` (it died too often) and `stopped` (it exited while the cluster was starting or closing) are final.
 */
type SlotState =
  | { state: 'starting'; worker: Worker }
  | { state: 'serving'; worker: Worker }
  | { state: 'restarting'; timer: NodeJS.Timeout }
  | { state: 'given-up' }
  | { state: 'stopped' };

interface Slot {
  index: number;
  policy: RestartPolicy;
  current: SlotState;
}

/** The primary's lifecycle: workers are restarted only while `serving`; a failure while `starting` fails the start. */
type PrimaryPhase = { phase: 'starting' } | { phase: 'serving'; url: string } | { phase: 'closing'; exited: Promise<void> };

/** The worker a slot holds, if any. */
function workerOf(slot: Slot): Worker | null {
  switch (slot.current.state) {
    case 'starting':
    case 'serving':
      return slot.current.worker;
    case 'restarting':
    case 'given-up':
    case 'stopped':
      return null;
  }
}

interface Collection {
  waiting: Set<number>;
  replies: unknown[];
  settle(error: Error | null, replies: unknown[]): void;
}

/** Cluster settings and the shared listening sockets belong to the process: one cluster at a time. */
let clusterRunning = false;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function workerExecArgv(): string[] {
  if (!FROM_SOURCES) return [...process.execArgv];
  const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  return process.execArgv.includes(tsxLoader) ? [...process.execArgv] : [...process.execArgv, '--import', tsxLoader];
}

class Primary {
  private readonly slots: Slot[];
  private readonly collections = new Map<number, Collection>();
  private nextRequestId = 0;
  private lifecycle: PrimaryPhase = { phase: 'starting' };
  /** Settles with the URL when every worker first serves, or fails when one fails before that. */
  private readonly startup = deferred<string>();
  private readonly lostSignal = deferred<void>();
  /** Worker ID → settles when that worker has exited. */
  private readonly exits = new Map<number, Promise<void>>();

  constructor(
    private readonly config: HubConfig,
    readonly workers: number,
    private readonly logger: Logger,
    private readonly restart: RestartPolicyOptions,
    private readonly drainTimeoutMs: number,
  ) {
    this.slots = Array.from({ length: workers }, (_, index) => ({ index, policy: new RestartPolicy(restart), current: { state: 'stopped' } }));
  }

  start(): Promise<string> {
    for (const slot of this.slots) this.fork(slot);
    return this.startup.promise;
  }

  get lost(): Promise<void> {
    return this.lostSignal.promise;
  }

  livingWorkers(): { worker: number; pid: number }[] {
    return this.slots.flatMap((slot) => {
      const worker = workerOf(slot);
      return worker?.process.pid !== undefined && worker.isConnected() ? [{ worker: slot.index + 1, pid: worker.process.pid }] : [];
    });
  }

  async usage(): Promise<WorkerUsage[]> {
    return (await this.collect((requestId) => ({ type: 'rosetta:collect-usage', requestId }))) as WorkerUsage[];
  }

  close(): Promise<void> {
    if (this.lifecycle.phase === 'closing') return this.lifecycle.exited;
    const living: Worker[] = [];
    for (const slot of this.slots) {
      const { current } = slot;
      switch (current.state) {
        case 'serving':
          this.send(current.worker, { type: 'rosetta:drain' });
          living.push(current.worker);
          break;
        case 'starting':
          // A worker still starting has nothing in flight to finish (and no drain handler yet): it is simply stopped.
          current.worker.process.kill('SIGTERM');
          living.push(current.worker);
          break;
        case 'restarting':
          clearTimeout(current.timer);
          slot.current = { state: 'stopped' };
          break;
        case 'given-up':
        case 'stopped':
          break;
      }
    }
    const killAfter = setTimeout(() => {
      for (const worker of living) if (!worker.isDead()) worker.process.kill('SIGKILL');
    }, this.drainTimeoutMs + EXIT_GRACE_MS);
    const exited = Promise.all(living.map((worker) => this.exits.get(worker.id))).then(() => clearTimeout(killAfter));
    this.lifecycle = { phase: 'closing', exited };
    return exited;
  }

  private fork(slot: Slot): void {
    const worker = cluster.fork();
    slot.current = { state: 'starting', worker };
    this.exits.set(
      worker.id,
      new Promise<void>((resolve) => worker.once('exit', () => resolve())),
    );
    worker.on('message', (message: unknown) => {
      if (isRosettaMessage<WorkerMessage>(message)) this.receive(slot, worker, message);
    });
    worker.once('exit', (code: number | null, signal: string | null) => this.exited(slot, worker, code, signal));
    // An 'error' (a message that could not be sent to a dying worker) must not crash the primary; 'exit' follows.
    worker.on('error', (error: Error) => this.logger.warn({ worker: slot.index + 1, err: error }, 'worker IPC error'));
  }

  private receive(slot: Slot, worker: Worker, message: WorkerMessage): void {
    switch (message.type) {
      case 'rosetta:hello':
        return this.send(worker, { type: 'rosetta:start', config: this.config, workers: this.workers, slot: slot.index, drainTimeoutMs: this.drainTimeoutMs });
      case 'rosetta:ready':
        if (slot.current.state === 'starting' && slot.current.worker === worker) slot.current = { state: 'serving', worker };
        if (this.lifecycle.phase === 'starting' && this.slots.every((s) => s.current.state === 'serving')) {
          this.lifecycle = { phase: 'serving', url: message.url };
          this.startup.resolve(message.url);
        }
        return;
      case 'rosetta:failed':
        this.logger.error({ worker: slot.index + 1, pid: worker.process.pid, reason: message.message }, 'worker failed to start');
        if (this.lifecycle.phase === 'starting') this.startup.reject(new Error(`hub worker ${slot.index + 1} failed to start: ${message.message}`));
        return;
      case 'rosetta:invalidate-links':
      case 'rosetta:invalidate-records':
      case 'rosetta:customer-changes':
        // Every other worker, ready or still starting: one that is listening already may have cached something.
        for (const other of this.slots) {
          const otherWorker = workerOf(other);
          if (otherWorker && otherWorker !== worker) this.send(otherWorker, message);
        }
        return;
      case 'rosetta:scrape':
        void this.scrape(worker, message.requestId);
        return;
      case 'rosetta:metrics-json':
        return this.reply(worker, message.requestId, 'error' in message ? new Error(message.error) : message.metrics);
      case 'rosetta:usage':
        return this.reply(worker, message.requestId, message.usage);
    }
  }

  private exited(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    const own = workerOf(slot) === worker;
    if (own) slot.current = { state: 'stopped' };
    this.exits.delete(worker.id);
    // A dead worker cannot answer a collection.
    for (const [requestId, collection] of this.collections) {
      if (collection.waiting.delete(worker.id) && collection.waiting.size === 0) {
        this.collections.delete(requestId);
        collection.settle(null, collection.replies);
      }
    }
    const where = { worker: slot.index + 1, pid: worker.process.pid, code, signal };
    switch (this.lifecycle.phase) {
      case 'closing':
        return;
      case 'starting':
        this.startup.reject(new Error(`hub worker ${slot.index + 1} exited before it served (code ${code}, signal ${signal})`));
        return;
      case 'serving':
        if (own) this.restartLater(slot, where);
        return;
    }
  }

  private restartLater(slot: Slot, where: Record<string, unknown>): void {
    const delay = slot.policy.nextDelay(Date.now());
    if (delay === null) {
      slot.current = { state: 'given-up' };
      this.logger.error({ ...where, maxRestarts: this.restart.maxRestarts, windowMs: this.restart.windowMs }, 'worker died too often: not restarting it');
      if (this.slots.every((s) => s.current.state === 'given-up')) {
        this.logger.fatal('every hub worker was given up: nothing is serving');
        this.lostSignal.resolve();
      }
      return;
    }
    this.logger.warn({ ...where, restartInMs: delay }, 'worker died: restarting it');
    slot.current = { state: 'restarting', timer: setTimeout(() => this.fork(slot), delay) };
  }

  /** Aggregates every ready worker's registry the way prom-client's AggregatorRegistry does: sums, unless a metric says otherwise. */
  private async scrape(requester: Worker, requestId: number): Promise<void> {
    try {
      const registries = (await this.collect((id) => ({ type: 'rosetta:collect-metrics', requestId: id }))) as object[][];
      const aggregate = AggregatorRegistry.aggregate(registries);
      this.send(requester, { type: 'rosetta:metrics', requestId, text: await aggregate.metrics(), contentType: aggregate.contentType });
    } catch (error) {
      this.send(requester, { type: 'rosetta:metrics', requestId, error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Asks every ready worker and resolves with their answers (a worker that dies meanwhile is not waited for). */
  private collect(request: (requestId: number) => PrimaryMessage): Promise<unknown[]> {
    const ready = this.slots.flatMap((slot) => (slot.current.state === 'serving' ? [slot.current.worker] : []));
    if (ready.length === 0) return Promise.resolve([]);
    const requestId = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const late = this.collections.get(requestId)?.waiting.size ?? 0;
        this.collections.delete(requestId);
        reject(new Error(`${late} of ${ready.length} workers did not answer within ${COLLECT_TIMEOUT_MS} ms`));
      }, COLLECT_TIMEOUT_MS);
      this.collections.set(requestId, {
        waiting: new Set(ready.map((worker) => worker.id)),
        replies: [],
        settle: (error, replies) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve(replies);
        },
      });
      for (const worker of ready) this.send(worker, request(requestId));
    });
  }

  private reply(worker: Worker, requestId: number, answer: unknown): void {
    const collection = this.collections.get(requestId);
    if (!collection?.waiting.delete(worker.id)) return;
    if (answer instanceof Error) {
      this.collections.delete(requestId);
      collection.settle(answer, []);
      return;
    }
    collection.replies.push(answer);
    if (collection.waiting.size === 0) {
      this.collections.delete(requestId);
      collection.settle(null, collection.replies);
    }
  }

  private send(worker: Worker, message: PrimaryMessage): void {
    if (worker.isConnected()) worker.send(message);
  }
}

/**
 * Starts N hub workers sharing `config.server.port` (port 0: one free port, chosen once, shared by all) and
 * resolves once every one serves; rejects, with the others stopped, if one fails to start. The config is the
 * whole hub's: each worker takes its share of the sources' caps (per-worker-config.ts).
 */
export async function startHubCluster(config: HubConfig, options: ClusterOptions = {}): Promise<RunningCluster> {
  if (!cluster.isPrimary) throw new Error('a hub cluster is started from a primary process, not from a worker');
  if (clusterRunning) throw new Error('a hub cluster is already running in this process');
  const workers = options.workers ?? workerCount(config);
  if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
  // Migrations run here, once: workers opening a new store together would race to create its tables.
  await (await openLinkStore(config)).close();
  clusterRunning = true;
  // Round-robin is Node's default except on Windows; the even spread across workers is the point here.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  cluster.setupPrimary({ exec: WORKER_MODULE, args: [], execArgv: workerExecArgv(), serialization: 'advanced' });
  const restart = { ...DEFAULT_RESTART_POLICY, ...options.restart };
  const primary = new Primary(config, workers, options.logger ?? createLogger(), restart, options.drainTimeoutMs ?? config.server.queryDeadlineMs + 2_000);
  let url: string;
  try {
    url = await primary.start();
  } catch (error) {
    await primary.close();
    clusterRunning = false;
    throw error;
  }
  return {
    url,
    workers,
    livingWorkers: () => primary.livingWorkers(),
    usage: () => primary.usage(),
    lost: primary.lost,
    async close() {
      await primary.close();
      clusterRunning = false;
    },
  };
}

export interface StartedHub {
  url: string;
  workers: number;
  close(): Promise<void>;
  /** Settles if a cluster lost every worker for good (never, for a hub in this process). */
  lost: Promise<void>;
}

/**
 * A hub as the config asks: in this process when `server.workers` is 1, as a cluster of workers otherwise. A store
 * passed in becomes the hub's: closed with it, or at once for a cluster, whose workers each open their own.
 */
export async function startHubProcesses(config: HubConfig, options: { store?: LinkStore; logger?: Logger } = {}): Promise<StartedHub> {
  const workers = workerCount(config);
  if (workers > 1) {
    await options.store?.close();
    return startHubCluster(config, { workers, ...(options.logger ? { logger: options.logger } : {}) });
  }
  try {
    const hub = await startHub(config, options);
    return {
      url: hub.url,
      workers: 1,
      // As a cluster worker does: requests in flight are answered (within the query deadline) before the hub closes.
      async close() {
        await drainHttpServer(hub.server, config.server.queryDeadlineMs + 2_000);
        await hub.close();
      },
      lost: new Promise(() => {}),
    };
  } catch (error) {
    await options.store?.close();
    throw error;
  }
}
