// A normalised client cache (Apollo Client's InMemoryCache) over the real hub: two queries selecting different
// fields of one customer's profile and marketing merge into one entry each, with no warning, and both stay readable.
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { startTestHub, type TestHub } from '../support/hub-harness.js';

let t: TestHub;
let customerId: string;
beforeAll(async () => {
  t = await startTestHub({ people: 40 });
  // A customer the marketing tool knows: its `marketing` is an object, so the test can fail on it too.
  for (const { customerId: id, links } of (await t.store.pageCustomers(40, null)).customers) {
    if (links.some((link) => link.source === 'marketing') && links.some((link) => link.source === 'crm')) {
      customerId = id;
      break;
    }
  }
  expect(customerId).toBeDefined();
});
afterAll(() => t.close());

const CONTACT = gql`
  query Contact($id: ID!) {
    customer(id: $id) { id profile { id name email } marketing { id status } }
  }
`;
const DETAILS = gql`
  query Details($id: ID!) {
    customer(id: $id) { id profile { id phone address { city country } } marketing { id emailConsent lists } }
  }
`;

describe('Apollo Client InMemoryCache', () => {
  test('two queries of different profile and marketing fields of one customer: no warning, both readable, one entry per object', async () => {
    const warnings: unknown[][] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((...args) => void warnings.push(args));
    const error = vi.spyOn(console, 'error').mockImplementation((...args) => void warnings.push(args));
    const cache = new InMemoryCache();
    const client = new ApolloClient({ cache, link: new HttpLink({ uri: t.hub.url }) });
    try {
      const contact = await client.query({ query: CONTACT, variables: { id: customerId } });
      const details = await client.query({ query: DETAILS, variables: { id: customerId } });
      expect(contact.error).toBeUndefined();
      expect(details.error).toBeUndefined();

      expect(warnings).toEqual([]);
      // Both answers read back from the cache alone, exactly as the hub sent them.
      expect(cache.readQuery({ query: CONTACT, variables: { id: customerId } })).toEqual(contact.data);
      expect(cache.readQuery({ query: DETAILS, variables: { id: customerId } })).toEqual(details.data);
      const entries = Object.keys(cache.extract()).sort();
      expect(entries).toEqual([`Customer:${customerId}`, `Marketing:${customerId}`, `Profile:${customerId}`, 'ROOT_QUERY']);
      expect(cache.extract()[`Profile:${customerId}`]).toEqual({
        __typename: 'Profile',
        id: customerId,
        name: (contact.data as any).customer.profile.name,
        email: (contact.data as any).customer.profile.email,
        phone: (details.data as any).customer.profile.phone,
        address: (details.data as any).customer.profile.address,
      });
      expect((contact.data as any).customer.profile.email).toContain('@');
      expect(typeof (details.data as any).customer.marketing.emailConsent).toBe('boolean');
    } finally {
      warn.mockRestore();
      error.mockRestore();
      client.stop();
    }
  });
});
