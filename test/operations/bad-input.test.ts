// A caller's mistakes are BAD_USER_INPUT, never blamed on a source and never sent to one: an over-long identifier,
// a cursor the hub did not hand out.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ people: 30, seed: 6 });
});
afterAll(() => t?.close());

const upstreamCalls = () => Object.values(t.systems.systems).reduce((sum, system) => sum + system.stats().total, 0);

test.each([
  ['an email of 300 characters', 'EMAIL', `${'a'.repeat(290)}@example.com`],
  ['a phone number of 40 digits', 'PHONE', '+1'.padEnd(40, '5')],
  ['a source record of 600 characters', 'SOURCE_RECORD', `crm:${'C'.repeat(596)}`],
])('%s is BAD_USER_INPUT with no upstream call', async (_name, kind, value) => {
  t.resetStats();
  const answer = await t.graphql('query($kind: IdentityKind!, $value: String!) { customerByIdentity(kind: $kind, value: $value) { id } }', { variables: { kind, value } });
  expect(answer.errors).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT', argument: 'value' } }]);
  expect(upstreamCalls()).toBe(0);
});

test.each([
  ['not base64 of a customer ID', 'bm90LWEtY3VzdG9tZXI'],
  ['garbage', '!!!'],
  ['a customer ID with a suffix', Buffer.from('cus_0123456789abcdef-x').toString('base64url')],
])('an `after` cursor that is %s is BAD_USER_INPUT, not an empty page', async (_name, after) => {
  const answer = await t.graphql('query($after: String) { customers(first: 5, after: $after) { edges { node { id } } } }', { variables: { after } });
  expect(answer.errors).toMatchObject([{ extensions: { code: 'BAD_USER_INPUT', argument: 'after' } }]);
  expect(answer.data).toBeNull();
});

test('a cursor the hub returned pages on', async () => {
  const first = await t.graphql('{ customers(first: 2) { pageInfo { endCursor } edges { node { id } } } }');
  const next = await t.graphql('query($after: String) { customers(first: 2, after: $after) { edges { node { id } } } }', { variables: { after: first.data.customers.pageInfo.endCursor } });
  expect(next.errors).toBeUndefined();
  expect(next.data.customers.edges).toHaveLength(2);
});
