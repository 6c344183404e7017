// A PostgreSQL link store whose schema is dropped (a database dropped and recreated empty) makes the hub not ready,
// and the hub recovers by itself: the next readiness checks migrate the schema again, without a restart.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { parseConfig } from '../../src/config/load.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { PostgresLinkStore } from '../../src/identity/postgres-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { TEST_DATABASE_URL, TestSchemas } from '../support/postgres.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { memoryLogger } from '../support/memory-logger.js';

const { logger: memoryLog, lines: logs } = memoryLogger();

const schemas = new TestSchemas();
let systems: SimulatedSystems;
let hub: RunningHub;
let schema: string;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 20, seed: 2, latencyMs: 0 });
  schema = schemas.next();
  const config = parseConfig({ ...demoConfig(systems.urls, { PORT: '0' }), linkStore: { kind: 'postgres', url: TEST_DATABASE_URL, schema } }, {});
  const logger = memoryLog;
  const store = await PostgresLinkStore.open({ url: TEST_DATABASE_URL, schema, logger });
  await syncLinkTable(config, store);
  hub = await startHub(config, { store, logger });
});

afterAll(async () => {
  await hub?.close();
  await systems?.close();
  await schemas.dropAll();
});

const readyz = async () => {
  const response = await fetch(hub.url.replace('/graphql', '/readyz'));
  return { status: response.status, body: (await response.json()) as { status: string; linkStore: string } };
};
const count = async () => (await (await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ customers(first: 1) { totalCount } }' }) })).json()) as { data?: { customers: { totalCount: number } }; errors?: unknown[] };

test('schema dropped: not ready with the cause logged, then ready again by itself with the schema recreated', async () => {
  expect(await readyz()).toMatchObject({ status: 200, body: { linkStore: 'ok' } });
  expect((await count()).data?.customers.totalCount).toBeGreaterThan(0);

  await schemas.query('public', `DROP SCHEMA ${schema} CASCADE`);
  const first = await readyz();
  expect(first).toMatchObject({ status: 503, body: { status: 'not_ready', linkStore: 'schema_missing' } });
  expect(logs.find((l) => l.msg === 'link store cannot serve: not ready')).toMatchObject({ condition: 'schema_missing', cause: expect.stringContaining('does not exist') });

  await expect.poll(async () => (await readyz()).status, { timeout: 15_000, interval: 100 }).toBe(200);
  expect(logs.some((l) => l.msg === 'link store schema recreated')).toBe(true);
  const tables = await schemas.query<{ table_name: string }>('public', 'SELECT table_name FROM information_schema.tables WHERE table_schema = $1', [schema]);
  expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['customers', 'audit_log', 'schema_migrations']));
  // Recreated empty, as the database was: queries answer again instead of failing.
  expect(await count()).toEqual({ data: { customers: { totalCount: 0 } } });
}, 60_000);
