import { describe, expect, test } from 'vitest';
import { SurvivorshipRule } from '../../src/customer/survivorship.js';
import type { MappedRecord } from '../../src/sources/connector.js';

function record(source: string, recordId: string, values: Record<string, unknown>): MappedRecord {
  return { source, entity: 'e', recordId, values, fetchedAt: '2026-11-25T00:00:00.000Z' };
}

describe('survivorship', () => {
  const rule = new SurvivorshipRule(['crm', 'shop']);

  test('the higher-priority source wins a field both hold', () => {
    const merged = rule.merge([record('shop', '7', { email: 'shop@x.io' }), record('crm', 'C-1', { email: 'crm@x.io' })]);
    expect(merged.email).toBe('crm@x.io');
    expect(merged.provenance).toEqual([expect.objectContaining({ field: 'email', source: 'crm', recordId: 'C-1' })]);
  });

  test('a lower-priority source fills fields the preferred source lacks', () => {
    const merged = rule.merge([record('crm', 'C-1', { email: 'crm@x.io', phone: null }), record('shop', '7', { phone: '+14155550134' })]);
    expect(merged.phone).toBe('+14155550134');
    expect(merged.provenance.find((p) => p.field === 'phone')).toMatchObject({ source: 'shop', recordId: '7' });
  });

  test('between records of equal priority the most recently updated wins', () => {
    const merged = rule.merge([
      record('support', '1', { email: 'old@x.io', updatedAt: '2024-01-01T00:00:00.000Z' }),
      record('support', '2', { email: 'new@x.io', updatedAt: '2025-01-01T00:00:00.000Z' }),
    ]);
    expect(merged.email).toBe('new@x.io');
    expect(merged.provenance[0]).toMatchObject({ recordId: '2', sourceUpdatedAt: '2025-01-01T00:00:00.000Z' });
  });

  test('a name is built from first and last name when a source has no full name', () => {
    expect(rule.merge([record('crm', 'C-1', { firstName: 'Ada', lastName: 'Lovelace' })]).name).toBe('Ada Lovelace');
  });

  test('an address comes whole from one record, never mixed across sources', () => {
    const merged = rule.merge([
      record('crm', 'C-1', { city: 'London', line1: null }),
      record('shop', '7', { line1: '1 Main St', city: 'Springfield', postalCode: '12345', country: 'US' }),
    ]);
    expect(merged.address).toEqual({ line1: null, city: 'London', postalCode: null, country: null });
  });

  test('no records give an empty profile with no provenance', () => {
    expect(rule.merge([])).toEqual({ firstName: null, lastName: null, name: null, email: null, phone: null, address: null, provenance: [] });
  });
});
