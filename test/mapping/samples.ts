// Raw records shaped like well-known APIs (HubSpot, Stripe, Segment, Zendesk, Mailchimp, a point of sale), for mapping suggestion tests.

const FIRST = ['Ada', 'Grace', 'Alan', 'Linus', 'Barbara', 'Ken', 'Margaret', 'Dennis', 'Frances', 'Edsger'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Torvalds', 'Liskov', 'Thompson', 'Hamilton', 'Ritchie', 'Allen', 'Dijkstra'];
const CITIES = ['Boston', 'Seattle', 'Austin', 'Denver', 'Portland'];

const people = Array.from({ length: 40 }, (_, i) => ({ first: FIRST[i % 10]!, last: LAST[(i * 3) % 10]!, i }));

export const hubspotContacts = people.map(({ first, last, i }) => ({
  id: String(5100 + i),
  properties: {
    firstname: first,
    lastname: last,
    email: `${first}.${last}${i}@example.com`.toLowerCase(),
    phone: `(415) 555-${1000 + i}`,
    address: `${100 + i} Main St`,
    city: CITIES[i % 5],
    zip: String(94100 + i),
    country: 'US',
    lastmodifieddate: `2025-03-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00.000Z`,
    createdate: '2024-01-01T00:00:00Z',
  },
  archived: false,
}));

export const stripeCustomers = people.map(({ first, last, i }) => ({
  id: `cus_${1000 + i}`,
  object: 'customer',
  name: `${first} ${last}`,
  email: `${first}${i}@mail.test`,
  phone: `+1415555${2000 + i}`,
  address: { line1: `${i + 1} Market St`, line2: null, city: CITIES[i % 5], postal_code: String(94000 + i), country: 'us', state: 'CA' },
  created: 1_700_000_000 + i * 1000,
  livemode: false,
  currency: 'usd',
}));

export const stripeCharges = people.map(({ i }) => ({
  id: `ch_${9000 + i}`,
  object: 'charge',
  amount: 1000 + i * 17,
  currency: 'usd',
  created: 1_700_000_000 + i * 3600,
  status: ['succeeded', 'pending', 'failed'][i % 3],
  customer: `cus_${1000 + (i % 10)}`,
  receipt_number: `1${String(i).padStart(3, '0')}-${4000 + i}`,
  description: 'Order payment',
}));

export const segmentTracks = people.map(({ i }) => ({
  messageId: `msg-${i}-x`,
  type: 'track',
  event: ['Signed Up', 'Order Completed', 'Page Viewed'][i % 3],
  anonymousId: `anon-${i % 7}`,
  userId: null,
  timestamp: `2025-01-0${1 + (i % 9)}T12:00:00Z`,
  properties: { plan: 'pro' },
}));

export const zendeskTickets = people.map(({ i }) => ({
  id: 700 + i,
  url: `https://example.zendesk.com/api/v2/tickets/${700 + i}.json`,
  subject: ['Cannot log in', 'Refund request please', 'Wrong item shipped'][i % 3],
  description: 'A longer account of the problem, as the customer wrote it.',
  status: ['new', 'open', 'solved'][i % 3],
  priority: ['low', 'normal', 'high', 'urgent'][i % 4],
  requester_id: 50 + (i % 9),
  created_at: '2025-02-01T00:00:00Z',
  updated_at: '2025-02-03T00:00:00Z',
}));

export const mailchimpMembers = people.map(({ first, last, i }) => ({
  id: `${i}abcdef`.padEnd(32, '0'),
  email_address: `${first}${i}@list.test`,
  status: ['subscribed', 'unsubscribed', 'cleaned', 'pending'][i % 4],
  merge_fields: { FNAME: first, LNAME: last, PHONE: i % 2 === 0 ? `415.555.${4000 + i}` : '' },
  tags: [{ id: 1, name: 'vip' }],
  timestamp_opt: '2024-05-01T00:00:00Z',
  last_changed: '2025-01-01T00:00:00Z',
  list_id: 'abc123',
}));

/** The point-of-sale system of test/integration/config-only-source.test.ts: terse names a suggestion cannot read. */
export const posAccounts = people.map(({ first, last, i }) => ({
  account_no: `A-${9000 + i}`,
  email_address: ` ${first}${i}@pos.test`,
  mobile: `415-555-${3000 + i}`,
  display_name: `${first} ${last}`,
  modified: '2026-10-01T00:00:00Z',
}));

export const posPurchases = people.map(({ i }) => ({
  receipt: `R-${i}-1`,
  account_no: `A-${9000 + i}`,
  at: '2026-09-01T10:00:00Z',
  amount: '19.99',
  currency: 'EUR',
  kind: 'sale',
}));
