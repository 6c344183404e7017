import { describe, expect, test } from 'vitest';
import { BlockedValues, compileIdentifierExtractor } from '../../src/identity/identifiers.js';
import { linkRecords, type LinkableRecord } from '../../src/identity/linker.js';
import { recordKeyString } from '../../src/identity/model.js';

function rec(source: string, recordId: string, identifiers: LinkableRecord['identifiers'], references: string[] = []): LinkableRecord {
  return { source, entity: 'e', recordId, identifiers, references };
}

const customerOf = (snapshot: ReturnType<typeof linkRecords>, source: string, recordId: string) =>
  snapshot.links.find((l) => l.source === source && l.recordId === recordId)!.customerId;

describe('linking records into customers', () => {
  test('records sharing an email or a phone, transitively, are one customer', () => {
    const snapshot = linkRecords([
      rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }]),
      rec('shop', '2', [{ kind: 'email', value: 'a@x.io' }, { kind: 'phone', value: '+14155550134' }]),
      rec('support', '3', [{ kind: 'phone', value: '+14155550134' }]),
      rec('support', '4', [{ kind: 'phone', value: '+14155550199' }]),
    ]);
    expect(new Set(snapshot.links.map((l) => l.customerId)).size).toBe(2);
    expect(customerOf(snapshot, 'support', '3')).toBe(customerOf(snapshot, 'crm', '1'));
    expect(snapshot.links.find((l) => l.recordId === '3')).toMatchObject({ rule: 'PHONE', evidence: '+14155550134' });
    expect(snapshot.links.find((l) => l.recordId === '1')).toMatchObject({ rule: 'SEED', evidence: null });
  });

  test('a reference to another system\'s record links by external ID', () => {
    const snapshot = linkRecords([rec('crm', 'C-1', []), rec('shop', '9', [], [recordKeyString({ source: 'crm', entity: 'e', recordId: 'C-1' })])]);
    expect(customerOf(snapshot, 'shop', '9')).toBe(customerOf(snapshot, 'crm', 'C-1'));
    expect(snapshot.links.find((l) => l.recordId === '9')).toMatchObject({ rule: 'EXTERNAL_ID' });
  });

  test('re-linking unchanged data keeps customer IDs and link times', () => {
    const records = [rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }]), rec('shop', '2', [{ kind: 'email', value: 'a@x.io' }])];
    const first = linkRecords(records, new Map(), '2026-01-01T00:00:00.000Z');
    const previous = new Map(first.links.map((l) => [recordKeyString(l), { customerId: l.customerId, linkedAt: l.linkedAt }]));
    const second = linkRecords([...records].reverse(), previous, '2026-06-01T00:00:00.000Z');
    expect(second.links).toEqual(first.links);
  });

  test('a customer split in two keeps its ID on one side and the other side gets a new one', () => {
    const previous = new Map([
      ['crm:e:1', { customerId: 'cus_old', linkedAt: 't' }],
      ['shop:e:2', { customerId: 'cus_old', linkedAt: 't' }],
    ]);
    const snapshot = linkRecords([rec('crm', '1', []), rec('shop', '2', [])], previous);
    expect(customerOf(snapshot, 'crm', '1')).toBe('cus_old');
    expect(customerOf(snapshot, 'shop', '2')).not.toBe('cus_old');
  });
});

describe('identifier extraction', () => {
  const blocked = new BlockedValues({ defaultPhoneRegion: 'US', blocked: { values: ['noreply@example.com'], patterns: ['^\\+?1?0{7,}$'] } });
  const extract = compileIdentifierExtractor(
    {
      idPath: 'id',
      identifiers: [
        { kind: 'email', path: 'email' },
        { kind: 'phone', path: 'phone' },
      ],
      mapping: {},
    },
    { defaultPhoneRegion: 'US', blocked },
  );
  const identifiersOf = (raw: unknown) => {
    const record = rec('s', '1', []);
    extract(raw, record);
    return record.identifiers;
  };

  test('emails are trimmed, lower-cased and also indexed by their MD5', () => {
    expect(identifiersOf({ email: ' Ada@X.io ' })).toEqual([
      { kind: 'email', value: 'ada@x.io' },
      { kind: 'email_md5', value: '9054abd6d4bb25e98a5c5984e6238cb1' },
    ]);
  });

  test('the placeholder email links nobody, in any case or spacing, while the phone still does', () => {
    expect(identifiersOf({ email: ' NoReply@Example.com', phone: '(415) 555-0134' })).toEqual([{ kind: 'phone', value: '+14155550134' }]);
  });

  test('unrelated users sharing the placeholder email stay separate customers', () => {
    const records = [{ email: 'noreply@example.com', phone: '415 555 0101' }, { email: 'NOREPLY@example.com', phone: '415 555 0102' }].map((raw, i) => {
      const record = rec('support', String(i), []);
      extract(raw, record);
      return record;
    });
    expect(new Set(linkRecords(records).links.map((l) => l.customerId)).size).toBe(2);
  });
});
