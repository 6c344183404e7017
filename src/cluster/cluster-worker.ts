// A cluster worker's main module (forked by cluster.ts): one hub on the port the workers share, with its share of
// the sources' caps, its caches kept coherent with the other workers', draining when told to or signalled.
import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { createLogger } from '../logging/logger.js';
import { isRosettaMessage, type PrimaryMessage, type WorkerMessage } from './cluster-messages.js';
import { drainHttpServer } from '../server/http-drain.js';
import { openLinkStore, startHub, type RunningHub } from '../server/hub.js';
import { perWorkerConfig } from './per-worker-config.js';
import { processChannel, WorkerRelay } from './worker-relay.js';
import { workerRoutes } from './worker-routes.js';

type StartMessage = Extract<PrimaryMessage, { type: 'rosetta:start' }>;

if (!cluster.isWorker) throw new Error('src/cluster/cluster-worker.ts is forked by the cluster primary (src/cluster/cluster.ts), not run by hand');

function send(message: WorkerMessage): void {
  if (process.connected) process.send!(message);
}

async function serve(start: StartMessage): Promise<void> {
  const worker = start.slot + 1;
  const logger = createLogger().child({ worker });
  const config = perWorkerConfig(start.config, { workers: start.workers, slot: start.slot });
  const relay = new WorkerRelay(processChannel(), worker);
  const store = await openLinkStore(config);
  let hub: RunningHub;
  try {
    hub = await startHub(config, {
      store,
      logger,
      extend: (services) => {
        // A store that announces changes itself (PostgreSQL) already reaches every worker's link and record caches.
        relay.attach(services, { relayLinks: !store.onInvalidate, relayRecords: !store.recordInvalidations, relayChanges: !store.customerChanges });
        return workerRoutes(services, { worker, pid: process.pid });
      },
      metrics: () => relay.clusterMetrics(),
    });
  } catch (error) {
    await store.close();
    throw error;
  }
  logger.info({ url: hub.url, workers: start.workers }, 'worker serving');
  send({ type: 'rosetta:ready', url: hub.url });
  const drain = drainOnce(hub, logger, start.drainTimeoutMs);
  process.on('message', (message) => {
    if (isRosettaMessage<PrimaryMessage>(message) && message.type === 'rosetta:drain') drain('primary');
  });
  // Ctrl-C and a service manager's SIGTERM reach every process of the group: each worker drains itself.
  process.on('SIGINT', () => drain('SIGINT'));
  process.on('SIGTERM', () => drain('SIGTERM'));
}

/** Stops taking connections, answers what is in flight (within `timeoutMs`), closes the hub and exits 0. */
function drainOnce(hub: RunningHub, logger: Logger, timeoutMs: number): (reason: string) => void {
  let started = false;
  return (reason) => {
    if (started) return;
    started = true;
    logger.info({ reason }, 'worker draining');
    drainHttpServer(hub.server, timeoutMs)
      .then((drained) => {
        if (!drained) logger.warn({ timeoutMs }, 'worker drain timed out: closing the connections still open');
        return hub.close();
      })
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'worker failed to close');
          process.exit(1);
        },
      );
  };
}

process.on('message', (message) => {
  if (!isRosettaMessage<PrimaryMessage>(message) || message.type !== 'rosetta:start') return;
  serve(message).catch((error: unknown) => {
    const failed: WorkerMessage = { type: 'rosetta:failed', message: error instanceof Error ? error.message : String(error) };
    // Exit once the message has left: the primary reports why the worker could not start.
    if (process.connected) process.send!(failed, undefined, undefined, () => process.exit(1));
    else process.exit(1);
  });
});
send({ type: 'rosetta:hello' });
