// /readyz tells the truth about the link store: a store that cannot take writes (here a read-only SQLite file) is not
// ready, refused PII reads are logged and counted as errors, and an internal failure is logged once with its cause
// and request ID while the client sees only "internal error" (a GraphQL mutation and a webhook delivery alike).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { demoConfig } from '../../src/cli/demo-config.js';
import { parseConfig } from '../../src/config/load.js';
import { signTimestamped } from '../../src/demo/webhook-emitter.js';
import { startSimulatedSystems, type SimulatedSystems } from '../../src/demo/systems.js';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { startHub, type RunningHub } from '../../src/server/hub.js';
import { authSection, keyHeader } from '../auth/auth-fixture.js';
import { tempDir } from '../cli/cli-harness.js';
import { syncLinkTable } from '../support/hub-harness.js';
import { memoryLogger } from '../support/memory-logger.js';

const { logger: memoryLog, lines: logs } = memoryLogger();

let systems: SimulatedSystems;
let dir: string;
let file: string;
let hub: RunningHub;
let customerId: string;

beforeAll(async () => {
  systems = await startSimulatedSystems({ people: 30, seed: 9, latencyMs: 0 });
  dir = tempDir();
  file = join(dir, 'links.sqlite');
  const base = demoConfig(systems.urls, { PORT: '0', LINK_DB: file });
  const config = parseConfig({ ...base, auth: authSection(null), identity: { ...base.identity, forget: { ...base.identity.forget, enabled: true } } }, {});
  const builder = new SqliteLinkStore(file);
  await syncLinkTable(config, builder);
  customerId = (await builder.pageCustomers(1, null)).customers[0]!.customerId;
  await builder.close();
  // The fault the hub must not hide: a file that takes no writes (a read-only mount, another owner). Tests run as
  // root, which file modes do not stop, so the connection is made read-only at SQLite's level: writes then fail with
  // SQLITE_READONLY exactly as they do on a read-only file.
  const store = new SqliteLinkStore(file);
  (store as unknown as { db: { pragma(text: string): unknown } }).db.pragma('query_only = ON');
  hub = await startHub(config, { store, logger: memoryLog });
});

afterAll(async () => {
  await hub?.close();
  await systems?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function graphql(query: string, requestId: string) {
  const response = await fetch(hub.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...keyHeader('admin') }, body: JSON.stringify({ query }) });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: { message: string; extensions: Record<string, unknown> }[] } };
}

test('a read-only SQLite file is not ready, and says why', async () => {
  const response = await fetch(hub.url.replace('/graphql', '/readyz'));
  expect(response.status).toBe(503);
  expect(await response.json()).toMatchObject({ status: 'not_ready', linkStore: 'read_only' });
  expect(logs.filter((l) => l.msg === 'link store cannot serve: not ready')).toMatchObject([{ condition: 'read_only', cause: expect.stringMatching(/readonly/i) }]);
  // Asked again, the same condition is not logged again.
  await fetch(hub.url.replace('/graphql', '/readyz'));
  expect(logs.filter((l) => l.msg === 'link store cannot serve: not ready')).toHaveLength(1);
});

test('a PII read refused because the audit log takes no rows is logged and counted as an error', async () => {
  const answer = await graphql(`query EmailOf { customer(id: "${customerId}") { profile { email } } }`, 'pii-read-1');
  expect(answer.status).toBe(503);
  expect(answer.body.errors).toMatchObject([{ extensions: { code: 'AUDIT_UNAVAILABLE', requestId: 'pii-read-1' } }]);
  expect(logs.find((l) => l.msg === 'graphql operation' && l.requestId === 'pii-read-1')).toMatchObject({ outcome: 'error', status: 503 });
  const metrics = await (await fetch(hub.metricsUrl)).text();
  expect(metrics).toContain('rosetta_graphql_operations_total{operation="EmailOf",outcome="error"} 1');
  expect(metrics).not.toContain('rosetta_graphql_operations_total{operation="EmailOf",outcome="success"}');
});

test('a forget that fails answers "internal error" and logs its cause once, with the request ID', async () => {
  const answer = await graphql(`mutation { forgetCustomer(id: "${customerId}") { customerId } }`, 'forget-1');
  expect(answer.body.errors).toMatchObject([{ message: 'internal error', extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'forget-1' } }]);
  expect(JSON.stringify(answer.body)).not.toMatch(/readonly|sqlite/i);
  const logged = logs.filter((l) => l.msg === 'internal error' && l.requestId === 'forget-1');
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ path: 'forgetCustomer', err: { message: expect.stringMatching(/readonly/i) } });
});

test('a webhook delivery the store cannot take answers 500 INTERNAL_SERVER_ERROR and logs its cause once, with the request ID', async () => {
  const body = JSON.stringify({ type: 'upsert', entity: 'contact', record: { id: 'C-777001', primary_email: 'read.only@example.net', first_name: 'Read', last_name: 'Only', updated_at: new Date().toISOString() } });
  const response = await fetch(hub.url.replace('/graphql', '/webhooks/crm'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'webhook-1', 'x-rosetta-signature': signTimestamped(body, 'demo-crm-webhook-secret') },
    body,
  });
  expect(response.status).toBe(500);
  expect(response.headers.get('x-request-id')).toBe('webhook-1');
  const answer = await response.text();
  expect(JSON.parse(answer)).toEqual({ error: 'INTERNAL_SERVER_ERROR', requestId: 'webhook-1' });
  expect(answer).not.toMatch(/readonly|sqlite/i);
  const logged = logs.filter((l) => l.requestId === 'webhook-1' && l.level >= 50);
  expect(logged).toHaveLength(1);
  expect(logged[0]).toMatchObject({ msg: 'webhook delivery could not be applied', source: 'crm', err: { message: expect.stringMatching(/readonly/i) } });
});
