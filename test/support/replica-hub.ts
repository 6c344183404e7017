// One hub replica in its own process, for tests of several replicas sharing a PostgreSQL link store.
//
// Started as `node --import tsx test/support/replica-hub.ts` with the simulated systems' URLs and the
// store in the environment; prints `{"url": ...}` on one stdout line once it serves, and stops on SIGTERM.
import { demoConfig } from '../../src/cli/demo-config.js';
import type { SystemName } from '../../src/demo/systems.js';
import { startHub } from '../../src/server/hub.js';

const urls = JSON.parse(process.env.REPLICA_SYSTEM_URLS ?? '{}') as Record<SystemName, string>;
const config = demoConfig(urls, { PORT: '0' });
// Through openLinkStore, as a replica configured for PostgreSQL opens it.
config.linkStore = { kind: 'postgres', url: process.env.REPLICA_DATABASE_URL!, schema: process.env.REPLICA_SCHEMA! };

const hub = await startHub(config);
process.stdout.write(`${JSON.stringify({ url: hub.url })}\n`);
process.once('SIGTERM', () => {
  hub.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
});
