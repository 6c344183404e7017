// A replica hears other replicas' changes through one LISTEN connection. While that connection is down the replica
// is not ready (`notifications_lost`), whatever the cause: its backend terminated and new connections refused, or the
// whole database dropped and recreated empty. It comes back by itself, drops everything it cached (what was sent
// meanwhile is lost) and hears the next change. Runs against the real PostgreSQL, in a database of its own.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { parseConfig } from '../../src/config/load.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { INVALIDATION_CHANNEL } from '../../src/identity/postgres-invalidation.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { TEST_DATABASE_URL } from '../support/postgres.js';
import { memoryLogger } from '../support/memory-logger.js';

const { logger: memoryLog, lines: logs } = memoryLogger();

const DATABASE = `rosetta_listen_${randomBytes(5).toString('hex')}`;
const APPLICATION = `${DATABASE}_hub`;
const url = new URL(TEST_DATABASE_URL);
url.pathname = `/${DATABASE}`;
const DATABASE_URL = url.toString();

/** Statements about the test database run from `test`: a database cannot be dropped from a connection to it. */
let admin: Client;
let systems: SimulatedSystems;
let hub: RunningHub;
/** What the hub's store heard from other processes, in order. */
const heard: (string[] | 'all')[] = [];

beforeAll(async () => {
  admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  systems = await startSimulatedSystems({ people: 20, seed: 5, latencyMs: 0 });
  const config = parseConfig({ ...demoConfig(systems.urls, { PORT: '0' }), linkStore: { kind: 'postgres', url: DATABASE_URL } }, {});
  const logger = memoryLog;
  const store = await PostgresLinkStore.open({ url: DATABASE_URL, applicationName: APPLICATION, logger });
  await syncLinkTable(config, store);
  store.onInvalidate((ids) => heard.push(ids));
  hub = await startHub(config, { store, logger });
}, 60_000);

afterAll(async () => {
  await hub?.close();
  await systems?.close();
  await admin?.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  await admin?.end();
});

const readyz = async () => {
  const response = await fetch(hub.url.replace('/graphql', '/readyz'));
  return { status: response.status, linkStore: ((await response.json()) as { linkStore: string }).linkStore };
};

/** Another replica's connection to the test database, to NOTIFY as a store does (only listeners of the same database hear it). */
async function peer(): Promise<Client> {
  const client = new Client({ connectionString: DATABASE_URL });
  client.on('error', () => undefined); // terminated with the database in the second test: expected there
  await client.connect();
  return client;
}
const announce = (client: Client, customerId: string) => client.query('SELECT pg_notify($1, $2)', [INVALIDATION_CHANNEL, JSON.stringify({ origin: 'another-replica', schema: 'public', ids: [customerId] })]);

const LOST = 'invalidation LISTEN connection (links and records) lost; reconnecting';
const NOT_READY = 'link store cannot serve: not ready';

test('the LISTEN backend terminated and kept out: not ready until LISTEN is back, then everything cached is dropped and the next change is heard', async () => {
  expect(await readyz()).toEqual({ status: 200, linkStore: 'ok' });
  const other = await peer();
  try {
    await admin.query(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS false`);
    const { rowCount } = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND query LIKE 'LISTEN%'", [DATABASE, APPLICATION]);
    expect(rowCount).toBe(1);
    // The store itself still answers on the connections its pool holds; only the notifications are gone.
    await expect.poll(readyz, { timeout: 10_000, interval: 50 }).toEqual({ status: 503, linkStore: 'notifications_lost' });
    await announce(other, 'cus_sent_while_down');

    await admin.query(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS true`);
    await expect.poll(readyz, { timeout: 15_000, interval: 50 }).toEqual({ status: 200, linkStore: 'ok' });
    await announce(other, 'cus_sent_after');
    await expect.poll(() => heard.length, { timeout: 10_000 }).toBe(2);
    // The change sent while it was down never arrives; "everything" on reconnect covers it.
    expect(heard).toEqual(['all', ['cus_sent_after']]);
    expect(logs.filter((l) => l.msg === LOST)).toHaveLength(1);
    expect(logs.filter((l) => l.msg === NOT_READY)).toMatchObject([{ condition: 'notifications_lost', cause: expect.stringContaining('terminat') }]);
    expect(logs.filter((l) => l.msg === 'link store ready again')).toMatchObject([{ was: 'notifications_lost' }]);
  } finally {
    await admin.query(`ALTER DATABASE ${DATABASE} ALLOW_CONNECTIONS true`);
    await other.end();
  }
}, 60_000);

test('the database dropped and recreated empty: not ready, then ready by itself with the schema migrated and LISTEN re-established', async () => {
  heard.length = 0;
  expect(await readyz()).toEqual({ status: 200, linkStore: 'ok' });
  // FORCE terminates every backend of the database (pg_terminate_backend), the LISTEN connection among them.
  await admin.query(`DROP DATABASE ${DATABASE} WITH (FORCE)`);
  expect((await readyz()).status).toBe(503);
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  await expect.poll(readyz, { timeout: 30_000, interval: 100 }).toEqual({ status: 200, linkStore: 'ok' });

  const other = await peer();
  try {
    await announce(other, 'cus_after_recreate');
    await expect.poll(() => heard.at(-1), { timeout: 10_000 }).toEqual(['cus_after_recreate']);
    expect(heard).toEqual(['all', ['cus_after_recreate']]);
  } finally {
    await other.end();
  }
  // Recreated empty, as the database was: queries answer again instead of failing.
  const answer = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }) });
  expect(await answer.json()).toEqual({ data: { customers: { totalCount: 0 } } });
}, 60_000);
