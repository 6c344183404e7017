// The behaviour every LinkStore backend must have; each backend's test file runs this suite against a real store.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { deriveCustomerId, planLinks, tokensOf, type IncomingRecord, type LinkChanges, type MatchPolicy, type RecordChange } from '../../src/identity/link-planner.js';
import type { IdentifierToken } from '../../src/identity/model.js';
import type { LinkStore } from '../../src/identity/store.js';

const POLICY: MatchPolicy = { caps: { email: 2 }, uniqueEntities: new Set(), sharedValueNames: 3 };

/** The secret each contract store keys its forgotten-record hashes with. */
export const FORGET_SECRET = 'contract-test-forget-secret-0123456789';

function rec(source: string, recordId: string, tokens: IdentifierToken[] = []): IncomingRecord {
  return { source, entity: 'e', recordId, tokens: [{ kind: 'ref', value: `${source}:e:${recordId}` }, ...tokens] };
}

/** What LinkService does, minus the cache: load the neighbourhood, plan, write. */
export async function apply(store: LinkStore, changes: RecordChange[], now: string) {
  const candidateIds = changes.flatMap((c) => ('upsert' in c ? [deriveCustomerId(`${c.upsert.source}:${c.upsert.entity}:${c.upsert.recordId}`)] : []));
  const plan = planLinks(await store.loadGraph({ tokens: tokensOf(changes), candidateIds }), changes, POLICY, now);
  await store.applyChanges(plan);
  return plan;
}

export function linkStoreContract(name: string, open: () => Promise<LinkStore>): void {
  describe(`${name} link store contract`, () => {
    let store: LinkStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(() => store.close());

    test('records applied in batches become customers findable by identifier and by record', async () => {
      await apply(store, [{ upsert: rec('crm', 'C-1', [{ kind: 'email', value: 'a@x.io' }]) }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('shop', '7', [{ kind: 'email', value: 'a@x.io' }, { kind: 'phone', value: '+14155550134' }]) }], '2026-01-02T00:00:00.000Z');
      const [id] = await store.findCustomerIdsByIdentifier('email', 'a@x.io');
      expect(await store.findCustomerIdsByIdentifier('phone', '+14155550134')).toEqual([id]);
      expect(await store.findCustomerIdByRecord({ source: 'shop', recordId: '7' })).toBe(id);
      expect(await store.findCustomerIdByRecord({ source: 'crm', entity: 'e', recordId: 'C-1' })).toBe(id);
      expect(await store.findCustomerIdByRecord({ source: 'crm', recordId: 'nope' })).toBeNull();
      const customer = (await store.getCustomers([id!])).get(id!)!;
      expect(customer.links.map((l) => [l.source, l.recordId, l.rule, l.evidence])).toEqual([
        ['crm', 'C-1', 'SEED', null],
        ['shop', '7', 'EMAIL', 'a@x.io'],
      ]);
      expect(await store.countCustomers()).toBe(1);
    });

    test('a loaded graph gives back each record with its tokens in their original order', async () => {
      const record = rec('crm', 'C-1', [{ kind: 'phone', value: '+14155550134' }, { kind: 'email', value: 'a@x.io' }]);
      await apply(store, [{ upsert: record }], '2026-01-01T00:00:00.000Z');
      const graph = await store.loadGraph({ tokens: [{ kind: 'email', value: 'a@x.io' }], candidateIds: [] });
      const [customer] = graph.customers.values();
      expect(customer!.records.get('crm:e:C-1')!.tokens).toEqual(record.tokens);
      expect((await apply(store, [{ upsert: record }], '2026-02-01T00:00:00.000Z')).upserted).toEqual([]);
    });

    test('a merged-away ID still resolves to the survivor, which lists it', async () => {
      await apply(store, [{ upsert: rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }]) }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('support', '2', [{ kind: 'phone', value: '+14155550134' }]) }], '2026-01-02T00:00:00.000Z');
      const older = (await store.findCustomerIdByRecord({ source: 'crm', recordId: '1' }))!;
      const younger = (await store.findCustomerIdByRecord({ source: 'support', recordId: '2' }))!;
      await apply(store, [{ upsert: rec('shop', '3', [{ kind: 'email', value: 'a@x.io' }, { kind: 'phone', value: '+14155550134' }]) }], '2026-01-03T00:00:00.000Z');
      const found = await store.getCustomers([younger, older]);
      expect(found.get(younger)!.customerId).toBe(older);
      expect(found.get(older)!.mergedIds).toEqual([younger]);
      expect(found.get(older)!.links).toHaveLength(3);
      const taken = await store.loadGraph({ tokens: [], candidateIds: [younger, 'cus_unused'] });
      expect([...taken.takenIds]).toEqual([younger]);
    });

    test('pages walk every customer once in ID order, in one read each', async () => {
      await apply(store, ['1', '2', '3'].map((id) => ({ upsert: rec('crm', id) })), '2026-01-01T00:00:00.000Z');
      const before = store.reads;
      const first = await store.pageCustomers(2, null);
      const second = await store.pageCustomers(2, first.customers.at(-1)!.customerId);
      expect(store.reads - before).toBe(2);
      expect(first.hasNextPage).toBe(true);
      expect(second.hasNextPage).toBe(false);
      const ids = [...first.customers, ...second.customers].map((c) => c.customerId);
      expect(ids).toEqual([...ids].sort());
      expect(new Set(ids).size).toBe(3);
    });

    test('a page given the links a caller holds answers the same page, in one read', async () => {
      await apply(store, ['1', '2', '3', '4'].map((id) => ({ upsert: rec('crm', id) })), '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('shop', '9', []) }], '2026-01-01T00:00:00.000Z');
      const whole = await store.pageCustomers(3, null);
      // The caller holds the second and third customers' current links, and none of the others'.
      const held = new Map(whole.customers.slice(1, 3).map((c) => [c.customerId, c]));
      const before = store.reads;
      const page = await store.pageCustomers(3, null, (id) => held.get(id));
      expect(store.reads - before).toBe(1);
      expect(page).toEqual(whole);
      expect(page.hasNextPage).toBe(true);
      const rest = await store.pageCustomers(3, page.customers.at(-1)!.customerId, (id) => held.get(id));
      expect(rest).toEqual(await store.pageCustomers(3, page.customers.at(-1)!.customerId));
      expect(rest.customers).toHaveLength(2);
      expect(rest.hasNextPage).toBe(false);
    });

    test('a plan writes only the rows that changed, however many records the customer already holds', async () => {
      const phone = (n: number) => ({ kind: 'phone' as const, value: `+1415555020${n}` });
      await apply(store, [{ upsert: rec('crm', 'small', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
      await apply(store, ['1', '2', '3', '4', '5'].map((id) => ({ upsert: rec('shop', id, [phone(2)]) })), '2026-01-01T00:00:00.000Z');
      const rowsWrittenBy = async (changes: RecordChange[], now: string) => {
        const before = store.rowsWritten;
        await apply(store, changes, now);
        return store.rowsWritten - before;
      };
      // A record joining a customer of one record, then one of five: its link and its two identifiers (ref, phone) each time.
      expect(await rowsWrittenBy([{ upsert: rec('support', 'a', [phone(1)]) }], '2026-01-02T00:00:00.000Z')).toBe(3);
      const email = { kind: 'email' as const, value: 'b@x.io' };
      expect(await rowsWrittenBy([{ upsert: rec('support', 'b', [phone(2), email]) }], '2026-01-02T00:00:00.000Z')).toBe(4);
      // A record dropping a token (not the one joining it) deletes that identifier; the customer's other records stay as they are.
      expect(await rowsWrittenBy([{ upsert: rec('support', 'b', [phone(2)]) }], '2026-01-03T00:00:00.000Z')).toBe(1);
      const [customerId] = await store.findCustomerIdsByIdentifier('phone', phone(2).value);
      expect((await store.getCustomers([customerId!])).get(customerId!)!.links.map((l) => `${l.source}:${l.recordId}`)).toEqual(['shop:1', 'shop:2', 'shop:3', 'shop:4', 'shop:5', 'support:b']);
      expect(await store.findCustomerIdByRecord({ source: 'support', recordId: 'b' })).toBe(customerId);
    });

    test('refused merges are kept as conflicts to review', async () => {
      await apply(store, [{ upsert: rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }, { kind: 'email', value: 'b@x.io' }, { kind: 'phone', value: '+14155550134' }]) }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('shop', '2', [{ kind: 'email', value: 'c@x.io' }, { kind: 'phone', value: '+14155550134' }]) }], '2026-01-02T00:00:00.000Z');
      const [conflict] = await store.listConflicts(10);
      expect(conflict).toMatchObject({ reason: 'CAP_EXCEEDED', token: { kind: 'phone', value: '+14155550134' }, record: { source: 'shop', entity: 'e', recordId: '2' } });
    });

    test('sync cursors are saved with the links they follow and read back', async () => {
      const changes: RecordChange[] = [{ upsert: rec('crm', '1') }];
      const plan = planLinks(await store.loadGraph({ tokens: tokensOf(changes), candidateIds: [] }), changes, POLICY);
      const cursor = { source: 'crm', entity: 'e', cursor: 'C-1', passStartedAt: '2026-01-01T00:00:00.000Z', completedAt: null, since: '2025-12-31T00:00:00.000Z', watermark: '2025-12-31T12:00:00.000Z', fullCompletedAt: '2025-12-30T00:00:00.000Z' };
      await store.applyChanges(plan, cursor);
      expect(await store.getSyncCursor('crm', 'e')).toEqual(cursor);
      await store.saveSyncCursor({ ...cursor, cursor: null, completedAt: '2026-01-01T01:00:00.000Z' });
      expect(await store.getSyncCursor('crm', 'e')).toMatchObject({ cursor: null, completedAt: '2026-01-01T01:00:00.000Z' });
      expect(await store.getSyncCursor('shop', 'e')).toBeNull();
    });

    test('forgetting a customer (by a merged-away ID too) removes every trace and says which records to erase', async () => {
      await apply(store, [{ upsert: rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }]) }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('support', '2', [{ kind: 'phone', value: '+14155550134' }]) }], '2026-01-02T00:00:00.000Z');
      const alias = (await store.findCustomerIdByRecord({ source: 'support', recordId: '2' }))!;
      await apply(store, [{ upsert: rec('shop', '3', [{ kind: 'email', value: 'a@x.io' }, { kind: 'phone', value: '+14155550134' }]) }], '2026-01-03T00:00:00.000Z');
      const forgotten = await store.forgetCustomer(alias);
      expect(forgotten!.records.map((r) => `${r.source}:${r.recordId}`)).toEqual(['crm:1', 'shop:3', 'support:2']);
      expect(await store.findCustomerIdsByIdentifier('email', 'a@x.io')).toEqual([]);
      expect((await store.getCustomers([alias, forgotten!.customerId])).size).toBe(0);
      expect(await store.countCustomers()).toBe(0);
      expect(await store.forgetCustomer(alias)).toBeNull();
      // Until the sources erase them, the same records coming back (a sync, a lookup) stay unlinked.
      await apply(store, [{ upsert: rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }]) }], '2026-01-04T00:00:00.000Z');
      expect(await store.countCustomers()).toBe(0);
      // Once the source deletes one, it may be linked again if it ever reappears.
      await apply(store, [{ remove: { source: 'crm', entity: 'e', recordId: '1' } }], '2026-01-05T00:00:00.000Z');
      await apply(store, [{ upsert: rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }]) }], '2026-01-06T00:00:00.000Z');
      expect(await store.countCustomers()).toBe(1);
    });

    test('aliases merged again, even twice in one batch, all resolve to the final survivor', async () => {
      // Phones: the contract's policy caps emails, and a refused merge is not what this is about.
      const phone = (n: number) => ({ kind: 'phone' as const, value: `+1415555000${n}` });
      await apply(store, [{ upsert: rec('crm', 'x', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('crm', 'y', [phone(2)]) }], '2026-01-02T00:00:00.000Z');
      await apply(store, [{ upsert: rec('crm', 'z', [phone(3)]) }], '2026-01-03T00:00:00.000Z');
      await apply(store, [{ upsert: rec('crm', 'w', [phone(4)]) }], '2026-01-04T00:00:00.000Z');
      const [x, y, z, w] = await Promise.all(['x', 'y', 'z', 'w'].map(async (id) => (await store.findCustomerIdByRecord({ source: 'crm', recordId: id }))!));
      // w merges into z; then one batch merges z into y and y into x: w, z and y must all point at x.
      await apply(store, [{ upsert: rec('shop', '1', [phone(3), phone(4)]) }], '2026-01-05T00:00:00.000Z');
      await apply(store, [{ upsert: rec('shop', '2', [phone(2), phone(3)]) }, { upsert: rec('shop', '3', [phone(1), phone(2)]) }], '2026-01-06T00:00:00.000Z');
      const found = await store.getCustomers([w!, z!, y!, x!]);
      expect([w, z, y, x].map((id) => found.get(id!)?.customerId)).toEqual([x, x, x, x]);
      expect([...found.get(x!)!.mergedIds].sort()).toEqual([w!, y!, z!].sort());
      expect(found.get(w!)!.links).toHaveLength(7);
      expect(await store.countCustomers()).toBe(1);
    });

    test('the audit log reads back newest first, filtered and paged, and prunes by age', async () => {
      const entry = (at: string, customerId: string | null, action: 'PII_READ' | 'FORGET') => ({
        at, requestId: `req-${at}`, actor: 'api-key:support', roles: ['support'], action, customerId, fields: action === 'PII_READ' ? ['Profile.email'] : [], detail: null,
      });
      await store.appendAudit([entry('2026-01-01T00:00:00.000Z', 'cus_a', 'PII_READ'), entry('2026-01-02T00:00:00.000Z', 'cus_b', 'PII_READ')]);
      await store.appendAudit([entry('2026-01-03T00:00:00.000Z', 'cus_a', 'FORGET')]);
      const firstPage = await store.readAudit({ customerId: 'cus_a', first: 1 });
      expect(firstPage.hasNextPage).toBe(true);
      expect(firstPage.entries).toMatchObject([{ action: 'FORGET', customerId: 'cus_a', roles: ['support'], fields: [] }]);
      const secondPage = await store.readAudit({ customerId: 'cus_a', first: 1, beforeSeq: firstPage.entries[0]!.seq });
      expect(secondPage).toMatchObject({ hasNextPage: false, entries: [{ action: 'PII_READ', fields: ['Profile.email'], requestId: 'req-2026-01-01T00:00:00.000Z' }] });
      expect((await store.readAudit({ action: 'PII_READ', since: '2026-01-02T00:00:00.000Z', first: 10 })).entries.map((e) => e.customerId)).toEqual(['cus_b']);
      expect(await store.pruneAudit('2026-01-03T00:00:00.000Z')).toBe(2);
      expect((await store.readAudit({ first: 10 })).entries.map((e) => e.action)).toEqual(['FORGET']);
    });

    test('a value records of one entity hold under three names stops linking: what it joined splits, merged-away IDs come back', async () => {
      const desk = { kind: 'email' as const, value: 'noreply@desk.io' };
      const walkIn = (id: string, name: string): IncomingRecord => ({ ...rec('support', id, [desk]), nameKey: name });
      const phone = { kind: 'phone' as const, value: '+14155550134' };
      // One at a time, as webhooks would send them: a shop record holding the shared address and a phone merges the
      // walk-in holding the address with another holding the phone (whose ID becomes an alias)...
      await apply(store, [{ upsert: walkIn('1', 'ann') }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: { ...rec('support', '2', [phone]), nameKey: 'bob' } }], '2026-01-02T00:00:00.000Z');
      const second = deriveCustomerId('support:e:2');
      await apply(store, [{ upsert: rec('shop', '9', [desk, phone]) }], '2026-01-03T00:00:00.000Z');
      await apply(store, [{ upsert: { ...rec('support', '2', [desk, phone]), nameKey: 'bob' } }], '2026-01-03T00:00:00.000Z');
      expect(await store.countCustomers()).toBe(1);
      expect((await store.getCustomers([second])).get(second)!.customerId).toBe(deriveCustomerId('support:e:1'));
      // ...until a third name shows the address is shared: nobody is joined by it any more, the phone still joins.
      const plan = await apply(store, [{ upsert: walkIn('3', 'cem') }], '2026-01-04T00:00:00.000Z');
      expect(plan.suspected).toEqual([desk]);
      expect(plan.events?.filter((e) => e.kind === 'SPLIT')).toEqual([{ kind: 'SPLIT', customerId: deriveCustomerId('support:e:1'), otherCustomerId: second, rule: null }]);
      expect(plan.restored).toEqual([second]);
      expect(await store.countCustomers()).toBe(3);
      expect(await store.findCustomerIdsByIdentifier('email', desk.value)).toEqual([]);
      const back = (await store.getCustomers([second])).get(second)!;
      expect(back.customerId).toBe(second);
      expect(back.links.map((l) => [l.source, l.recordId, l.rule, l.evidence])).toEqual([['shop', '9', 'SEED', null], ['support', '2', 'PHONE', phone.value]]);
      expect((await store.getCustomers([deriveCustomerId('support:e:1')])).get(deriveCustomerId('support:e:1'))!.mergedIds).toEqual([]);
      const [conflict, ...others] = await store.listConflicts(10);
      expect(others).toEqual([]);
      expect(conflict).toMatchObject({ reason: 'SUSPECTED_SHARED_VALUE', token: desk, record: { source: 'support', entity: 'e' } });
      // Later records holding it link nobody either.
      await apply(store, [{ upsert: walkIn('4', 'dee') }, { upsert: rec('crm', '5', [desk]) }], '2026-01-05T00:00:00.000Z');
      expect(await store.countCustomers()).toBe(5);

      // A reviewer's BLOCK closes the suspicion for good; a conflict that is not a suspicion cannot be decided.
      expect(await store.decideSharedValue(conflict!.id, 'BLOCK')).toEqual({ token: desk, closed: 1 });
      expect(await store.listConflicts(10)).toEqual([]);
      expect(await store.decideSharedValue(conflict!.id, 'ALLOW')).toBeNull();
      await apply(store, [{ upsert: rec('crm', '6', [desk]) }], '2026-01-06T00:00:00.000Z');
      expect(await store.countCustomers()).toBe(6);
    });

    test('the same records in one batch, in any order, end as the records sent one by one', async () => {
      const desk = { kind: 'email' as const, value: 'noreply@desk.io' };
      const records = [
        { ...rec('support', '1', [desk]), nameKey: 'ann' },
        { ...rec('support', '2', [desk]), nameKey: 'bob' },
        rec('shop', '9', [desk, { kind: 'phone', value: '+14155550134' }]),
        { ...rec('support', '3', [desk, { kind: 'phone', value: '+14155550134' }]), nameKey: 'cem' },
      ];
      await apply(store, [...records].reverse().map((upsert) => ({ upsert })), '2026-01-01T00:00:00.000Z');
      const { customers } = await store.pageCustomers(100, null);
      // The phone still joins the shop record and the third walk-in; the shared address joins nobody.
      expect(customers.map((c) => c.links.map((l) => `${l.source}:${l.recordId}`).sort().join(' ')).sort()).toEqual(['shop:9 support:3', 'support:1', 'support:2']);
    });

    test('a value a reviewer allowed is never suspected again and links as before', async () => {
      const desk = { kind: 'email' as const, value: 'family@x.io' };
      await apply(store, ['ann', 'bob', 'cem'].map((name, i) => ({ upsert: { ...rec('support', String(i), [desk]), nameKey: name } })), '2026-01-01T00:00:00.000Z');
      const [conflict] = await store.listConflicts(10);
      expect(await store.decideSharedValue(conflict!.id, 'ALLOW')).toEqual({ token: desk, closed: 1 });
      // Sent again (the next sync), they link through it; a fourth name raises no new suspicion.
      const plan = await apply(store, ['ann', 'bob', 'cem', 'dee'].map((name, i) => ({ upsert: { ...rec('support', String(i), [desk]), nameKey: name } })), '2026-01-02T00:00:00.000Z');
      expect(plan.suspected).toEqual([]);
      expect(await store.countCustomers()).toBe(1);
      expect(await store.listConflicts(10)).toEqual([]);
    });

    test('a forget removes the conflict rows of the person and lists every record that held its identifiers', async () => {
      const shared = { kind: 'phone' as const, value: '+14155550134' };
      await apply(store, [{ upsert: rec('crm', '1', [{ kind: 'email', value: 'a@x.io' }, { kind: 'email', value: 'b@x.io' }, shared]) }], '2026-01-01T00:00:00.000Z');
      // Refused (the merge would give the customer three emails): a conflict row holding the person's phone.
      await apply(store, [{ upsert: rec('shop', '2', [{ kind: 'email', value: 'c@x.io' }, shared]) }], '2026-01-02T00:00:00.000Z');
      await apply(store, [{ upsert: rec('support', '3', [{ kind: 'email', value: 'd@x.io' }]) }], '2026-01-02T00:00:00.000Z');
      expect(await store.listConflicts(10)).toHaveLength(1);
      const person = (await store.findCustomerIdByRecord({ source: 'crm', recordId: '1' }))!;
      const forgotten = await store.forgetCustomer(person);
      expect(forgotten).toEqual({
        customerId: person,
        records: [{ source: 'crm', entity: 'e', recordId: '1' }],
        alsoHeldBy: [{ source: 'shop', entity: 'e', recordId: '2' }],
      });
      expect(await store.listConflicts(10)).toEqual([]);
      // The other customers stay as they were.
      expect(await store.countCustomers()).toBe(2);
    });

    test('record versions, tombstones included, are written with a plan and read back by record', async () => {
      const plan = await apply(store, [{ upsert: rec('crm', '1') }], '2026-01-01T00:00:00.000Z');
      const crm1 = { source: 'crm', entity: 'e', recordId: '1' };
      const gone = { source: 'crm', entity: 'e', recordId: '2' };
      await store.applyChanges({ ...plan, upserted: [], removed: [], conflicts: [], released: [], versions: [{ record: crm1, version: '7', deleted: false }, { record: gone, version: '2026-01-01T00:00:00.000Z', deleted: true }] });
      const held = await store.getRecordVersions([crm1, gone, { source: 'crm', entity: 'e', recordId: 'never' }]);
      expect([...held.values()]).toEqual(expect.arrayContaining([{ record: crm1, version: '7', deleted: false }, { record: gone, version: '2026-01-01T00:00:00.000Z', deleted: true }]));
      expect(held.size).toBe(2);
      await store.applyChanges({ upserted: [], removed: [], conflicts: [], released: [], versions: [{ record: crm1, version: '8', deleted: false }] });
      expect((await store.getRecordVersions([crm1])).get('crm:e:1')!.version).toBe('8');
    });

    test('webhook event IDs are remembered until they expire, per source', async () => {
      await store.applyChanges({ upserted: [], removed: [], conflicts: [], released: [], seenEvents: [{ source: 'crm', eventId: 'evt-1', expiresAt: '2999-01-01T00:00:00.000Z' }, { source: 'crm', eventId: 'evt-old', expiresAt: '2000-01-01T00:00:00.000Z' }] });
      expect([...(await store.seenEvents('crm', ['evt-1', 'evt-old', 'evt-2'], new Date().toISOString()))]).toEqual(['evt-1']);
      expect((await store.seenEvents('shop', ['evt-1'], new Date().toISOString())).size).toBe(0);
    });

    test('a split gives a merged-away ID back: its alias row goes, and the link history lists both, newest first', async () => {
      const phone = (n: number) => ({ kind: 'phone' as const, value: `+1415555030${n}` });
      await apply(store, [{ upsert: rec('crm', 'x', [phone(1)]) }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('crm', 'y', [phone(2)]) }], '2026-01-02T00:00:00.000Z');
      const [x, y] = [(await store.findCustomerIdByRecord({ source: 'crm', recordId: 'x' }))!, (await store.findCustomerIdByRecord({ source: 'crm', recordId: 'y' }))!];
      const history = (plan: LinkChanges, at: string) => (plan.events ?? []).map((e) => ({ ...e, at, actor: 'test', requestId: 'r', reason: null }));
      const bridge = await apply(store, [{ upsert: rec('shop', 'b', [phone(1), phone(2)]) }], '2026-01-03T00:00:00.000Z');
      await store.applyChanges({ upserted: [], removed: [], conflicts: [], released: [], history: history(bridge, '2026-01-03T00:00:00.000Z') });
      expect((await store.getCustomers([y])).get(y)!.customerId).toBe(x);
      // Loaded with its aliases, the survivor's split gives y back.
      const changes: RecordChange[] = [{ upsert: rec('shop', 'b', [phone(1)]) }];
      const graph = await store.loadGraph({ tokens: [...tokensOf(changes), phone(2)], candidateIds: [] });
      expect(graph.aliases!.get(x)).toEqual([y]);
      const split = planLinks(graph, changes, POLICY, '2026-01-04T00:00:00.000Z');
      expect(split.restored).toEqual([y]);
      await store.applyChanges({ ...split, history: history(split, '2026-01-04T00:00:00.000Z') });
      const found = await store.getCustomers([x, y]);
      expect([found.get(x)!.customerId, found.get(y)!.customerId, found.get(x)!.mergedIds]).toEqual([x, y, []]);
      expect((await store.readLinkHistory([y], 10)).map((e) => [e.kind, e.customerId, e.otherCustomerId])).toEqual([['SPLIT', x, y], ['MERGE', x, y]]);
    });

    test("reconciliation lists an entity's records linked before a time, in ID order", async () => {
      await apply(store, [{ upsert: rec('crm', '2') }, { upsert: rec('crm', '1') }, { upsert: rec('shop', '3') }], '2026-01-01T00:00:00.000Z');
      await apply(store, [{ upsert: rec('crm', '4') }], '2026-01-03T00:00:00.000Z');
      expect(await store.listLinkedRecordIds('crm', 'e', '2026-01-02T00:00:00.000Z')).toEqual(['1', '2']);
    });

    test('syncs wait for each other', async () => {
      // Which of two syncs started together takes the lock first is the store's business (two pool connections race);
      // what the contract promises is that the other enters only after the holder has left.
      const order: string[] = [];
      const releases = new Map<string, () => void>();
      const sync = (name: string) =>
        store.withSyncLock(async () => {
          order.push(`${name} in`);
          await new Promise<void>((resolve) => releases.set(name, resolve));
          order.push(`${name} out`);
        });
      const both = Promise.all([sync('a'), sync('b')]);
      await expect.poll(() => releases.size).toBe(1);
      const holder = [...releases.keys()][0]!;
      const waiter = holder === 'a' ? 'b' : 'a';
      expect(order).toEqual([`${holder} in`]);
      releases.get(holder)!();
      await expect.poll(() => releases.has(waiter)).toBe(true);
      releases.get(waiter)!();
      await both;
      expect(order).toEqual([`${holder} in`, `${holder} out`, `${waiter} in`, `${waiter} out`]);
    });

    test('ping answers while the store is open', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    test('an idempotency key is claimed once, per caller, holds its receipt until it expires, and a released claim frees it', async () => {
      const claim = { actor: 'api-key:a', key: 'k1', requestHash: 'h1', at: '2026-01-01T00:00:00.000Z', expiresAt: '2026-01-01T00:01:00.000Z' };
      expect(await store.claimWriteKey(claim)).toEqual({ state: 'claimed' });
      expect(await store.claimWriteKey({ ...claim, requestHash: 'h2' })).toEqual({ state: 'pending', requestHash: 'h1' });
      // Keys are per caller: another caller's same key is its own.
      expect(await store.claimWriteKey({ ...claim, actor: 'api-key:b' })).toEqual({ state: 'claimed' });
      await store.completeWriteKey('api-key:a', 'k1', '{"receipt":1}', '2026-01-02T00:00:00.000Z');
      expect(await store.claimWriteKey({ ...claim, at: '2026-01-01T12:00:00.000Z' })).toEqual({ state: 'done', requestHash: 'h1', receipt: '{"receipt":1}' });
      // Past its expiry the key is free again.
      expect(await store.claimWriteKey({ ...claim, requestHash: 'h3', at: '2026-01-02T00:00:00.000Z', expiresAt: '2026-01-02T00:01:00.000Z' })).toEqual({ state: 'claimed' });
      await store.releaseWriteKey('api-key:a', 'k1');
      expect(await store.claimWriteKey({ ...claim, requestHash: 'h4', at: '2026-01-02T00:00:01.000Z', expiresAt: '2026-01-02T00:01:00.000Z' })).toEqual({ state: 'claimed' });
      // b's claim (expiring 00:01 on Jan 1) and a's (00:01 on Jan 2): pruning at noon on Jan 1 takes b's only.
      expect(await store.pruneWriteKeys('2026-01-01T12:00:00.000Z')).toBe(1);
      expect(await store.claimWriteKey({ ...claim, actor: 'api-key:b', requestHash: 'h5', at: '2026-01-01T12:00:00.000Z' })).toEqual({ state: 'claimed' });
    });
  });
}
