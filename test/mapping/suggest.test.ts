import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { UnifiedTarget } from '../../src/config/schema.js';
import { compareWithMapping, summarizeAccuracy } from '../../src/mapping-suggest/accuracy.js';
import { renderSuggestion } from '../../src/mapping-suggest/render.js';
import { CONFIDENT, suggestMapping, type MappingSuggestion } from '../../src/mapping-suggest/suggest.js';
import { nameScore, nameTokens } from '../../src/mapping-suggest/synonyms.js';
import { profileFields, valueFit, type ValueKind } from '../../src/mapping-suggest/value-patterns.js';
import { hubspotContacts, mailchimpMembers, posAccounts, posPurchases, segmentTracks, stripeCharges, stripeCustomers, zendeskTickets } from './samples.js';

const US = { defaultPhoneRegion: 'US' };

/** target → path of each confident suggestion. */
function confidentPaths(suggestion: MappingSuggestion): Record<string, string> {
  return Object.fromEntries(suggestion.fields.filter((f) => f.confident).map((f) => [f.target, f.path]));
}

describe('field names are read in any casing', () => {
  test.each<[string, string[]]>([
    ['first_name', ['first', 'name']],
    ['firstName', ['first', 'name']],
    ['FNAME', ['fname']],
    ['merge_fields.FNAME', ['merge', 'field', 'fname']],
    ['default_address.address1', ['default', 'address', 'address', '1']],
    ['HTTPStatusCode', ['http', 'status', 'code']],
    ['created_at', ['creat']],
    ['consent.email.granted', ['consent', 'email', 'grant']],
  ])('%s → %j', (name, tokens) => {
    expect(nameTokens(name)).toEqual(tokens);
  });
});

describe('a path whose name is a known name for the field scores high, others less', () => {
  test.each<[UnifiedTarget, string, string]>([
    ['profile', 'email', 'primary_email'],
    ['profile', 'email', 'contact_email'],
    ['profile', 'email', 'email_address'],
    ['profile', 'email', 'mail'],
    ['profile', 'firstName', 'first_name'],
    ['profile', 'firstName', 'merge_fields.FNAME'],
    ['profile', 'firstName', 'givenName'],
    ['profile', 'city', 'default_address.city'],
    ['profile', 'postalCode', 'address.zip'],
    ['profile', 'line1', 'default_address.address1'],
    ['profile', 'updatedAt', 'last_changed'],
    ['orders', 'totalMinor', 'total_cents'],
    ['events', 'deviceId', 'anonymousId'],
  ])('%s.%s ← %s', (shape, field, path) => {
    expect(nameScore(shape, field, path).score).toBeGreaterThanOrEqual(0.85);
  });

  test.each<[UnifiedTarget, string, string, number, number]>([
    // A run-together name containing a known one.
    ['profile', 'updatedAt', 'properties.lastmodifieddate', 0.5, 0.9],
    // All of a known name's words among others.
    ['marketing', 'emailConsent', 'consent.email.granted', 0.5, 0.9],
    ['marketing', 'consentedAt', 'consent.email.timestamp', 0.4, 0.9],
    // The sales rep's email under `owner` is not the customer's.
    ['profile', 'email', 'owner.email', 0.4, 0.5],
    ['profile', 'email', 'id', 0, 0],
    ['profile', 'updatedAt', 'created_at', 0, 0],
  ])('%s.%s ← %s scores between %d and %d', (shape, field, path, low, high) => {
    const { score } = nameScore(shape, field, path);
    expect(score).toBeGreaterThanOrEqual(low);
    expect(score).toBeLessThanOrEqual(high);
  });
});

describe('values are recognised by their patterns', () => {
  const fit = (kind: ValueKind, values: unknown[]) => valueFit(kind, profileFields(values.map((v) => ({ v }))).find((p) => p.path === 'v')!, 'US').score;

  test.each<[ValueKind, unknown[]]>([
    ['email', ['ada@example.org', ' Grace.Hopper@Navy.MIL ']],
    ['phone', ['(415) 555-0134', '1-415-555-0134', '+44 20 7946 0958', '415.555.0134']],
    ['date', ['2024-03-01T10:00:00Z', '2024-03-01', 1_709_287_200, 1_709_287_200_000]],
    ['countryCode', ['US', 'de', 'GB']],
    ['currencyCode', ['USD', 'eur', 'JPY']],
    ['personName', ['Ada Lovelace', 'Grace Brewster Hopper']],
    ['namePart', ['Ada', 'Grace', 'Van Buren']],
    ['street', ['1500 Mission Ln', '10 Downing Street']],
    ['postalCode', ['02115', 'SW1A 1AA', 94107]],
    ['money', [1999, '19.99', 0.5]],
    ['boolean', [true, 'false']],
    ['stringList', [['newsletter'], []]],
    ['objectList', [[{ sku: 'A' }]]],
    ['text', ['Where is my order?', 'Item arrived damaged']],
  ])('%s: %j', (kind, values) => {
    expect(fit(kind, values)).toBe(1);
  });

  test.each<[ValueKind, unknown[]]>([
    ['email', ['not an email', 'ada@', 42]],
    ['phone', ['123', 'C-000001', '2024-03-01', 4_000_089]],
    ['date', ['1', 'yesterday', 42]],
    ['countryCode', ['USA', 'Germany', 'ZZ']],
    ['currencyCode', ['dollars', 'XYZ', 'US']],
    ['personName', ['Ada', 'R2-D2 unit 7']],
    ['street', ['Boston', '02115']],
    ['boolean', ['yes', 1]],
  ])('not %s: %j', (kind, values) => {
    expect(fit(kind, values)).toBe(0);
  });

  test('a label is a short string repeating across records; one value everywhere counts for less', () => {
    const statuses = Array.from({ length: 30 }, (_, i) => ['open', 'pending', 'solved'][i % 3]);
    const unique = Array.from({ length: 30 }, (_, i) => `ticket-${i}`);
    const constant = Array.from({ length: 30 }, () => 'track');
    expect(fit('enum', statuses)).toBe(1);
    expect(fit('enum', unique)).toBeLessThan(0.2);
    expect(fit('enum', constant)).toBeLessThan(fit('enum', statuses));
  });

  test('empty strings count as absent, not as values that fit nothing', () => {
    const [profile] = profileFields([{ phone: '' }, { phone: '(415) 555-0134' }, { phone: ' ' }, { phone: null }]);
    expect(profile).toMatchObject({ path: 'phone', values: ['(415) 555-0134'], presence: 0.25 });
  });
});

describe('suggestions for samples shaped like well-known APIs', () => {
  test.each<[string, unknown[], UnifiedTarget, Record<string, string>]>([
    ['HubSpot contacts', hubspotContacts, 'profile', { firstName: 'properties.firstname', lastName: 'properties.lastname', email: 'properties.email', phone: 'properties.phone', line1: 'properties.address', city: 'properties.city', postalCode: 'properties.zip', country: 'properties.country', updatedAt: 'properties.lastmodifieddate' }],
    ['Stripe customers', stripeCustomers, 'profile', { name: 'name', email: 'email', phone: 'phone', line1: 'address.line1', city: 'address.city', postalCode: 'address.postal_code', country: 'address.country' }],
    ['Stripe charges', stripeCharges, 'orders', { id: 'id', number: 'receipt_number', status: 'status', placedAt: 'created', totalMinor: 'amount', currency: 'currency' }],
    ['Segment track calls', segmentTracks, 'events', { id: 'messageId', name: 'event', occurredAt: 'timestamp', deviceId: 'anonymousId', properties: 'properties' }],
    ['Zendesk tickets', zendeskTickets, 'tickets', { id: 'id', subject: 'subject', status: 'status', priority: 'priority', createdAt: 'created_at', updatedAt: 'updated_at' }],
    ['Mailchimp members', mailchimpMembers, 'marketing', { status: 'status', consentedAt: 'timestamp_opt', updatedAt: 'last_changed' }],
    ['point-of-sale accounts', posAccounts, 'profile', { name: 'display_name', email: 'email_address', phone: 'mobile', updatedAt: 'modified' }],
  ])('%s', (_name, records, shape, expected) => {
    const suggestion = suggestMapping(records, { ...US, shape });
    expect(confidentPaths(suggestion)).toEqual(expected);
  });

  test('fields with names that say nothing (`receipt`, `at`, `kind`) are never pasted as confident guesses', () => {
    const suggestion = suggestMapping(posPurchases, { ...US, shape: 'orders' });
    expect(confidentPaths(suggestion)).toEqual({ totalMinor: 'amount', currency: 'currency' });
    // The date is still offered, commented out, for a person to confirm.
    expect(suggestion.fields.find((f) => f.target === 'placedAt')).toMatchObject({ path: 'at', confident: false, transform: 'date' });
  });
});

describe('transforms follow the values', () => {
  test.each<[string, unknown[], UnifiedTarget, string, string | undefined]>([
    ['integer amounts are minor units', stripeCharges, 'orders', 'totalMinor', 'money'],
    ['decimal amounts are major units', posPurchases, 'orders', 'totalMinor', 'moneyMajor'],
    ['epoch seconds are dates', stripeCharges, 'orders', 'placedAt', 'date'],
    ['country codes are upper-cased', stripeCustomers, 'profile', 'country', 'upper'],
    ['emails are normalised', stripeCustomers, 'profile', 'email', 'email'],
    ['phones become E.164', stripeCustomers, 'profile', 'phone', 'phone'],
    ['ticket statuses become enum names', zendeskTickets, 'tickets', 'status', 'upper'],
    ['event properties become JSON', segmentTracks, 'events', 'properties', 'json'],
    ['an order status stays as written', stripeCharges, 'orders', 'status', undefined],
  ])('%s', (_name, records, shape, target, transform) => {
    const field = suggestMapping(records, { ...US, shape }).fields.find((f) => f.target === target)!;
    expect(field.transform).toBe(transform);
  });

  test('line items get their own mapping', () => {
    const orders = [
      { id: 1, line_items: [{ sku: 'MUG-12', title: 'Enamel mug', qty: 2, price: '12.50' }] },
      { id: 2, line_items: [{ sku: 'TEE-L', title: 'Logo T-shirt, large', qty: 1, price: '24.00' }, { sku: 'CAP', title: 'Baseball cap', qty: 3, price: '9.99' }] },
    ];
    const lineItems = suggestMapping(orders, { ...US, shape: 'orders' }).fields.find((f) => f.target === 'lineItems')!;
    expect(lineItems.path).toBe('line_items');
    expect(lineItems.each!.map((f) => [f.target, f.path, f.transform])).toEqual([
      ['sku', 'sku', undefined],
      ['title', 'title', undefined],
      ['quantity', 'qty', 'integer'],
      ['unitPriceMinor', 'price', 'moneyMajor'],
    ]);
  });
});

describe('the unified shape', () => {
  test.each<[string, unknown[], UnifiedTarget]>([
    ['contacts', stripeCustomers, 'profile'],
    ['tickets', zendeskTickets, 'tickets'],
    ['events', segmentTracks, 'events'],
    ['charges', stripeCharges, 'orders'],
  ])('is inferred from %s when the config names none', (_name, records, shape) => {
    const suggestion = suggestMapping(records, US);
    expect(suggestion).toMatchObject({ shape, shapeFrom: 'inferred' });
    expect(suggestion.shapeFits.map((f) => f.shape)).toHaveLength(5);
  });

  test("is the entity's `provides` when configured, whatever fits better", () => {
    expect(suggestMapping(zendeskTickets, { ...US, shape: 'events' })).toMatchObject({ shape: 'events', shapeFrom: 'config', shapeFits: [] });
  });
});

describe('identifiers', () => {
  test('emails, phones, email hashes and IDs named after another source are proposed; a rep\'s email is not', () => {
    const records = Array.from({ length: 20 }, (_, i) => ({
      id: i,
      contact_email: `person${i}@example.org`,
      mobile: `(415) 555-${1000 + i}`,
      email_md5: `${String(i).padStart(2, '0')}`.padEnd(32, 'a'),
      metadata: { crm_id: `C-${i}` },
      owner: { email: `rep${i % 2}@sales.example` },
    }));
    const suggestion = suggestMapping(records, { ...US, shape: 'profile', source: 'shop', referenceTargets: { crm: 'contact', shop: 'customer' } });
    expect(suggestion.identifiers.map(({ kind, path, refersTo }) => ({ kind, path, refersTo }))).toEqual([
      { kind: 'email', path: 'contact_email', refersTo: undefined },
      { kind: 'phone', path: 'mobile', refersTo: undefined },
      { kind: 'email_md5', path: 'email_md5', refersTo: undefined },
      { kind: 'reference', path: 'metadata.crm_id', refersTo: 'crm.contact' },
    ]);
  });

  test('child entities (orders, tickets, events) get none: only linked records need them', () => {
    expect(suggestMapping(zendeskTickets, { ...US, shape: 'tickets', linked: false }).identifiers).toEqual([]);
  });
});

describe('the YAML', () => {
  const suggestion = suggestMapping(stripeCustomers, { ...US, shape: 'profile' });
  const yaml = renderSuggestion(suggestion, { source: 'stripe', entity: 'customer', from: 'list GET /v1/customers' });

  test('pastes into a source entity that the config then accepts, mapping what the suggestion was confident of', () => {
    const pasted = parse(yaml) as Record<string, unknown>;
    const config = parseConfig(
      {
        sources: {
          stripe: {
            baseUrl: 'http://127.0.0.1:1',
            entities: { customer: { provides: 'profile', batch: { path: '/v1/customers', query: { ids: '{ids}' }, maxBatchSize: 10, envelope: 'data' }, ...pasted } },
          },
        },
      },
      {},
    );
    const entity = config.sources.stripe!.entities.customer!;
    expect(entity.mapping).toEqual({
      name: 'name',
      email: { path: 'email', transform: 'email' },
      phone: { path: 'phone', transform: 'phone' },
      line1: 'address.line1',
      city: 'address.city',
      postalCode: 'address.postal_code',
      country: { path: 'address.country', transform: 'upper' },
    });
    expect(entity.identifiers).toEqual([
      { kind: 'email', path: 'email' },
      { kind: 'phone', path: 'phone' },
    ]);
  });

  test('gives every suggested line its confidence, and comments out those below the line', () => {
    for (const field of suggestion.fields) {
      const line = yaml.split('\n').find((l) => l.trimStart().replace(/^# /, '').startsWith(`${field.target}:`))!;
      expect(line).toContain(`# confidence ${field.confidence.toFixed(2)}`);
      expect(line.trimStart().startsWith('#')).toBe(field.confidence < CONFIDENT);
    }
  });

  test('quotes paths YAML would otherwise misread', () => {
    const odd = suggestMapping(
      Array.from({ length: 10 }, (_, i) => ({ '@timestamp': `2025-01-0${1 + (i % 9)}T00:00:00Z`, event: ['a', 'b'][i % 2], device_id: `d${i}`, event_id: `e${i}` })),
      { ...US, shape: 'events' },
    );
    const parsed = parse(renderSuggestion(odd, { source: 's', entity: 'e', from: 'test' })) as { mapping: Record<string, unknown> };
    expect(parsed.mapping.occurredAt).toEqual({ path: '@timestamp', transform: 'date' });
  });
});

describe('accuracy against a real mapping', () => {
  test('counts each mapped field, line item fields included, as correct only when the top confident path matches', () => {
    const suggestion = suggestMapping(posPurchases, { ...US, shape: 'orders' });
    const checks = compareWithMapping('pos', 'purchase', { id: 'receipt', totalMinor: { path: 'amount', transform: 'moneyMajor' }, currency: 'currency', placedAt: { path: 'at', transform: 'date' } }, suggestion);
    expect(checks.map((c) => [c.target, c.suggested, c.correct])).toEqual([
      ['id', null, false],
      ['totalMinor', 'amount', true],
      ['currency', 'currency', true],
      ['placedAt', null, false],
    ]);
    expect(summarizeAccuracy(checks).overall).toEqual({ source: 'overall', fields: 4, correct: 2, accuracy: 0.5 });
  });
});
