// config/recipes/hubspot.yaml's write against the simulated HubSpot: one PATCH with the changed properties, and,
// because HubSpot answers with those alone, one read-back before the contact goes through the link table.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRecipe, type RecipeRun } from './recipe-harness.js';

let run: RecipeRun;
beforeAll(async () => {
  run = await startRecipe('hubspot');
  const synced = await run.cli('sync');
  expect(synced.code).toBe(0);
}, 60_000);
afterAll(() => run?.close());

test('updateCustomerProfile PATCHes the contact once, reads it back once, and links the new email', async () => {
  const { graphql } = await run.hub();
  const page = await graphql('{ customers(first: 1) { edges { node { id identities { recordId } } } } }');
  const customer = page.data.customers.edges[0].node;
  run.vendor.resetStats();
  const written = await graphql(`mutation { updateCustomerProfile(id: "${customer.id}", input: { email: "written.by.rosetta@example.org" }) { writes { source recordId status method path } } }`);
  expect(written.errors).toBeUndefined();
  expect(written.data.updateCustomerProfile.writes).toEqual([
    { source: 'hubspot', recordId: customer.identities[0].recordId, status: 'APPLIED', method: 'PATCH', path: `/crm/v3/objects/contacts/${customer.identities[0].recordId}` },
  ]);
  expect(run.vendor.stats().routes).toEqual({ 'PATCH /crm/v3/objects/contacts/:id': 1, 'POST /crm/v3/objects/contacts/batch/read': 1 });
  const found = await graphql('{ customerByIdentity(kind: EMAIL, value: "written.by.rosetta@example.org") { id } }');
  expect(found.data.customerByIdentity.id).toBe(customer.id);
  // Found through the link table: no search at HubSpot.
  expect(run.vendor.stats().routes['POST /crm/v3/objects/contacts/search']).toBeUndefined();
});

test("HubSpot's refusal of an invalid email reads as SOURCE_REJECTED without the address", async () => {
  const { graphql } = await run.hub();
  const page = await graphql('{ customers(first: 2) { edges { node { id } } } }');
  // The hub checks only one @ and no spaces; HubSpot also wants a dot in the domain.
  const written = await graphql(`mutation { updateCustomerProfile(id: "${page.data.customers.edges[1].node.id}", input: { email: "ada@localhost" }) { writes { status error { code message } } } }`);
  expect(written.data.updateCustomerProfile.writes).toEqual([{ status: 'FAILED', error: { code: 'SOURCE_REJECTED', message: expect.stringContaining('source "hubspot" refused the write (HTTP 400): Property values were not valid') } }]);
  expect(JSON.stringify(written)).not.toContain('ada@localhost');
});
