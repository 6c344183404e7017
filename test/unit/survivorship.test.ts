import { describe, expect, test } from 'vitest';
import { SurvivorshipRule } from '../../src/customer/survivorship.js';
import type { MappedRecord } from '../../src/sources/connector.js';

function record(source: string, recordId: string, values: Record<string, unknown>): MappedRecord {
  return { source, entity: 'e', recordId, values, fetchedAt: '2026-11-25T00:00:00.000Z' };
}

/** Both orders a caller could hand the records in: the winner may depend on neither. */
function bothOrders<T>(records: [T, T]): [T[]][] {
  return [[[records[0], records[1]]], [[records[1], records[0]]]];
}

describe('survivorship', () => {
  // The preferred source sorts last alphabetically, so a merge that ignored the priority (alphabetical or first come,
  // with either order of records) would pick the other value and fail these tests.
  const rule = new SurvivorshipRule(['shop', 'crm']);

  test.each(bothOrders([record('crm', 'C-1', { email: 'crm@x.io' }), record('shop', '7', { email: 'shop@x.io' })]))(
    'the higher-priority source wins a field both hold (records in either order)',
    (records) => {
      const merged = rule.merge(records);
      expect(merged.email).toBe('shop@x.io');
      expect(merged.provenance).toEqual([expect.objectContaining({ field: 'email', source: 'shop', recordId: '7' })]);
    },
  );

  test.each(bothOrders([record('shop', '7', { email: 'shop@x.io', phone: null }), record('crm', 'C-1', { phone: '+14155550134' })]))(
    'a lower-priority source fills fields the preferred source lacks (records in either order)',
    (records) => {
      const merged = rule.merge(records);
      expect(merged.email).toBe('shop@x.io');
      expect(merged.phone).toBe('+14155550134');
      expect(merged.provenance.find((p) => p.field === 'phone')).toMatchObject({ source: 'crm', recordId: 'C-1' });
    },
  );

  test.each(
    bothOrders([
      record('support', '1', { email: 'new@x.io', updatedAt: '2025-01-01T00:00:00.000Z' }),
      record('support', '2', { email: 'old@x.io', updatedAt: '2024-01-01T00:00:00.000Z' }),
    ]),
  )('between records of equal priority the most recently updated wins (records in either order)', (records) => {
    const merged = rule.merge(records);
    expect(merged.email).toBe('new@x.io');
    expect(merged.provenance[0]).toMatchObject({ recordId: '1', sourceUpdatedAt: '2025-01-01T00:00:00.000Z' });
  });

  test('a source the priority list names wins over one it does not name, whichever is more recent', () => {
    const merged = rule.merge([
      record('support', '1', { email: 'support@x.io', updatedAt: '2026-01-01T00:00:00.000Z' }),
      record('crm', 'C-1', { email: 'crm@x.io', updatedAt: '2020-01-01T00:00:00.000Z' }),
    ]);
    expect(merged.email).toBe('crm@x.io');
  });

  test('a name is built from first and last name when a source has no full name', () => {
    expect(rule.merge([record('crm', 'C-1', { firstName: 'Ada', lastName: 'Lovelace' })]).name).toBe('Ada Lovelace');
  });

  test('an address comes whole from one record, never mixed across sources', () => {
    const merged = rule.merge([
      record('crm', 'C-1', { line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' }),
      record('shop', '7', { city: 'London', line1: null }),
    ]);
    expect(merged.address).toEqual({ line1: null, city: 'London', postalCode: null, country: null });
  });

  test('no records give an empty profile with no provenance', () => {
    expect(rule.merge([])).toEqual({ firstName: null, lastName: null, name: null, email: null, phone: null, address: null, provenance: [], extensionValues: {} });
  });

  test('a Profile field an extension adds is merged by the same rule, and its provenance names the record it came from', () => {
    const extended = new SurvivorshipRule(['crm', 'shop'], ['lifecycleStage']);
    // The shop's record is newer, but the CRM ranks higher: priority decides, as for the core fields.
    const merged = extended.merge([
      { ...record('shop', '7', { lifecycleStage: 'customer', updatedAt: '2026-11-24T00:00:00.000Z' }) },
      { ...record('crm', 'C-1', { lifecycleStage: 'lead', updatedAt: '2026-01-01T00:00:00.000Z' }) },
    ]);
    expect(merged.extensionValues.lifecycleStage).toMatchObject({ value: 'lead', origin: { source: 'crm', recordId: 'C-1' } });
    expect(merged.provenance).toContainEqual(expect.objectContaining({ field: 'lifecycleStage', source: 'crm', recordId: 'C-1' }));
    // A record without the value does not win it.
    expect(extended.merge([record('crm', 'C-1', { lifecycleStage: null }), record('shop', '7', { lifecycleStage: 'customer' })]).extensionValues.lifecycleStage?.value).toBe('customer');
  });
});
