// `rosetta start` (what `npm start` runs) is live: a write to the simulated CRM reaches the link table through the hub's webhook.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test, vi } from 'vitest';
import { SqliteLinkStore } from '../../src/identity/sqlite-store.js';
import { spawnCli } from './cli-harness.js';

const linkDb = join(mkdtempSync(join(tmpdir(), 'rosetta-start-')), 'links.sqlite');
process.env.LINK_DB = linkDb;
const demo = spawnCli(['start', '--port', '0', '--people', '60', '--latency', '0']);
afterAll(async () => {
  expect(await demo.stop()).toBe(0);
});

test('a contact written to the simulated CRM is in the link table, and found by its email, without a sync', async () => {
  const [, crmUrl] = (await demo.waitFor(/crm\s+(http:\/\/\S+)/, 60_000)) as unknown as [string, string];
  const [, hubUrl] = (await demo.waitFor(/Rosetta hub ready at (http:\/\/\S+)/, 60_000)) as unknown as [string, string];
  const write = await fetch(`${crmUrl}/contacts/C-990001`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ primary_email: 'Live.Demo@Example.org', first_name: 'Live', last_name: 'Demo' }) });
  expect(write.status).toBe(200);
  // The CRM answers once the hub has answered its webhook: the link is written by now.
  const store = new SqliteLinkStore(linkDb);
  try {
    expect(await store.findCustomerIdByRecord({ source: 'crm', entity: 'contact', recordId: 'C-990001' })).toMatch(/^cus_/);
  } finally {
    await store.close();
  }
  const lookup = await vi.waitFor(async () => {
    const response = await fetch(hubUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ customerByIdentity(kind: EMAIL, value: "live.demo@example.org") { identities { source recordId } } }' }) });
    return (await response.json()) as { data: { customerByIdentity: { identities: { source: string; recordId: string }[] } } };
  });
  expect(lookup.data.customerByIdentity.identities).toContainEqual({ source: 'crm', recordId: 'C-990001' });
}, 90_000);
