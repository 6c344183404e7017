import { describe, expect, test } from 'vitest';
import { IdentityRules, compileIdentifierExtractor, incomingRecord } from '../../src/identity/identifiers.js';
import { planLinks, type GraphCustomer, type IncomingRecord, type LinkChanges, type LinkGraph, type MatchPolicy, type RecordChange } from '../../src/identity/link-planner.js';
import type { IdentifierToken } from '../../src/identity/model.js';

const NO_LIMITS: MatchPolicy = { caps: {}, uniqueEntities: new Set() };

function rec(source: string, recordId: string, tokens: IdentifierToken[] = []): IncomingRecord {
  return { source, entity: 'e', recordId, tokens: [{ kind: 'ref', value: `${source}:e:${recordId}` }, ...tokens] };
}
const email = (value: string): IdentifierToken => ({ kind: 'email', value });
const phone = (value: string): IdentifierToken => ({ kind: 'phone', value });

/** The link table as the planner would leave it after each batch, kept in memory. */
class Table {
  readonly graph: LinkGraph = { customers: new Map(), takenIds: new Set(), suppressed: new Set(), aliases: new Map() };
  private clock = 0;

  apply(changes: RecordChange[], policy = NO_LIMITS): LinkChanges {
    // Each batch is a later moment, so "older" is meaningful across batches.
    const now = new Date(Date.UTC(2026, 0, 1, 0, 0, this.clock++)).toISOString();
    const aliases = this.graph.aliases!;
    const loaded: LinkGraph = {
      customers: new Map([...this.graph.customers].map(([id, c]) => [id, clone(c)])),
      takenIds: new Set(this.graph.takenIds),
      suppressed: new Set(this.graph.suppressed),
      aliases: new Map([...aliases].map(([id, list]) => [id, [...list]])),
    };
    const plan = planLinks(loaded, changes, policy, now);
    for (const customer of plan.upserted) this.graph.customers.set(customer.id, clone(customer));
    // As the stores do: an ID merged away becomes an alias of its survivor (with its own aliases); a restored one stops being one.
    for (const { customerId, mergedInto } of plan.removed) {
      this.graph.customers.delete(customerId);
      const held = aliases.get(customerId) ?? [];
      aliases.delete(customerId);
      if (mergedInto) {
        this.graph.takenIds.add(customerId);
        aliases.set(mergedInto, [...(aliases.get(mergedInto) ?? []), ...held, customerId]);
      }
    }
    for (const id of plan.restored ?? []) for (const [owner, list] of aliases) aliases.set(owner, list.filter((alias) => alias !== id));
    return plan;
  }

  customerOf(source: string, recordId: string): string | undefined {
    for (const customer of this.graph.customers.values()) if (customer.records.has(`${source}:e:${recordId}`)) return customer.id;
    return undefined;
  }

  link(source: string, recordId: string) {
    return this.graph.customers.get(this.customerOf(source, recordId)!)!.records.get(`${source}:e:${recordId}`)!.link;
  }
}

function clone(customer: GraphCustomer): GraphCustomer {
  return { ...customer, records: new Map([...customer.records].map(([k, r]) => [k, { link: { ...r.link }, tokens: [...r.tokens] }])) };
}

const upserts = (...records: IncomingRecord[]): RecordChange[] => records.map((upsert) => ({ upsert }));

describe('linking records into customers', () => {
  test('records sharing an email or a phone, transitively, are one customer, each with its evidence', () => {
    const table = new Table();
    table.apply(upserts(rec('crm', '1', [email('a@x.io')]), rec('shop', '2', [email('a@x.io'), phone('+14155550134')]), rec('support', '3', [phone('+14155550134')]), rec('support', '4', [phone('+14155550199')])));
    expect(table.graph.customers.size).toBe(2);
    expect(table.customerOf('support', '3')).toBe(table.customerOf('crm', '1'));
    expect(table.link('crm', '1')).toMatchObject({ rule: 'SEED', evidence: null });
    expect(table.link('shop', '2')).toMatchObject({ rule: 'EMAIL', evidence: 'a@x.io' });
    expect(table.link('support', '3')).toMatchObject({ rule: 'PHONE', evidence: '+14155550134' });
  });

  test('a reference to another system\'s record links whichever of the two arrives first', () => {
    for (const order of [['crm', 'shop'], ['shop', 'crm']]) {
      const table = new Table();
      const records = { crm: rec('crm', 'C-1'), shop: rec('shop', '9', [{ kind: 'ref', value: 'crm:e:C-1' }]) };
      for (const source of order) table.apply(upserts(records[source as 'crm' | 'shop']));
      expect(table.graph.customers.size).toBe(1);
    }
  });

  test('re-applying unchanged records changes nothing', () => {
    const table = new Table();
    const batch = upserts(rec('crm', '1', [email('a@x.io')]), rec('shop', '2', [email('a@x.io')]));
    table.apply(batch);
    expect(table.apply(batch)).toMatchObject({ upserted: [], removed: [], conflicts: [], released: [], events: [] });
  });

  test('a record that bridges two customers merges them into the older, which keeps its ID', () => {
    const table = new Table();
    table.apply(upserts(rec('crm', '1', [email('a@x.io')])));
    table.apply(upserts(rec('support', '2', [phone('+14155550134')])));
    const older = table.customerOf('crm', '1')!;
    const younger = table.customerOf('support', '2')!;
    const plan = table.apply(upserts(rec('shop', '3', [email('a@x.io'), phone('+14155550134')])));
    expect(plan.removed).toEqual([{ customerId: younger, mergedInto: older }]);
    expect(table.customerOf('support', '2')).toBe(older);
    expect(table.customerOf('shop', '3')).toBe(older);
  });

  test('a merge that would exceed the cap on emails is refused and recorded as a conflict', () => {
    const table = new Table();
    const policy: MatchPolicy = { caps: { email: 2 }, uniqueEntities: new Set() };
    table.apply(upserts(rec('crm', '1', [email('a@x.io'), email('b@x.io'), phone('+14155550134')])), policy);
    const plan = table.apply(upserts(rec('shop', '2', [email('c@x.io'), phone('+14155550134')])), policy);
    expect(table.graph.customers.size).toBe(2);
    expect(plan.conflicts).toEqual([expect.objectContaining({ reason: 'CAP_EXCEEDED', token: phone('+14155550134'), record: expect.objectContaining({ source: 'shop', recordId: '2' }) })]);
  });

  test('two customers that each hold a different CRM contact are never merged', () => {
    const table = new Table();
    const policy: MatchPolicy = { caps: {}, uniqueEntities: new Set(['crm.e']) };
    table.apply(upserts(rec('crm', 'C-1', [phone('+14155550134')]), rec('crm', 'C-2', [email('b@x.io')])), policy);
    const plan = table.apply(upserts(rec('shop', '7', [phone('+14155550134'), email('b@x.io')])), policy);
    expect(table.customerOf('crm', 'C-1')).not.toBe(table.customerOf('crm', 'C-2'));
    expect(table.customerOf('shop', '7')).toBe(table.customerOf('crm', 'C-1'));
    expect(plan.conflicts).toEqual([expect.objectContaining({ reason: 'UNIQUE_IDENTIFIER', otherCustomerId: table.customerOf('crm', 'C-2') })]);
  });

  test('removing a record keeps its customer while others remain and removes it with the last', () => {
    const table = new Table();
    table.apply(upserts(rec('crm', '1', [email('a@x.io')]), rec('shop', '2', [email('a@x.io')])));
    const id = table.customerOf('crm', '1')!;
    expect(table.apply([{ remove: { source: 'shop', entity: 'e', recordId: '2' } }]).upserted.map((c) => c.id)).toEqual([id]);
    expect(table.apply([{ remove: { source: 'crm', entity: 'e', recordId: '1' } }]).removed).toEqual([{ customerId: id, mergedInto: null }]);
    expect(table.graph.customers.size).toBe(0);
  });

  test('a new customer never takes an ID that was merged away', () => {
    const table = new Table();
    table.apply(upserts(rec('crm', '1', [email('a@x.io')])));
    table.apply(upserts(rec('shop', '2', [phone('+14155550134')])));
    const mergedAway = table.customerOf('shop', '2')!;
    table.apply(upserts(rec('support', '3', [email('a@x.io'), phone('+14155550134')])));
    table.apply([{ remove: { source: 'shop', entity: 'e', recordId: '2' } }]);
    table.apply(upserts(rec('shop', '2', [phone('+12125550100')])));
    expect(table.customerOf('shop', '2')).not.toBe(mergedAway);
  });
});

describe('identifier extraction', () => {
  const rules = new IdentityRules({
    defaultPhoneRegion: 'US',
    blocked: { values: ['noreply@example.com'], patterns: ['^\\+?1?0{7,}$'] },
    dotAndPlusInsensitiveDomains: ['gmail.com'],
    caps: {},
    uniquePerCustomer: [],
    onDemand: { enabled: true, missTtlMs: 0 },
    sharedValues: { minNames: 3 },
    forget: { enabled: false },
  });
  const extract = compileIdentifierExtractor(
    { identifiers: [{ kind: 'email', path: 'email' }, { kind: 'phone', path: 'phone' }, { kind: 'reference', path: 'crm_id', refersTo: 'crm.contact' }] },
    rules,
  );
  const tokensOf = (raw: unknown) => incomingRecord({ source: 's', entity: 'e', recordId: '1' }, raw, extract).tokens;

  test('every record carries its own key, emails are normalised and also indexed by their MD5', () => {
    expect(tokensOf({ email: ' Ada@X.io ', crm_id: ' C-7 ' })).toEqual([
      { kind: 'ref', value: 's:e:1' },
      { kind: 'email', value: 'ada@x.io' },
      { kind: 'email_md5', value: '9054abd6d4bb25e98a5c5984e6238cb1' },
      { kind: 'ref', value: 'crm:contact:C-7' },
    ]);
  });

  test.each([
    ['A.Da+news@Gmail.com', 'ada@gmail.com'],
    ['a.da+news@example.org', 'a.da+news@example.org'],
  ])('gmail-style domains ignore dots and +tags: %s matches as %s', (raw, expected) => {
    expect(tokensOf({ email: raw })[1]).toEqual({ kind: 'email', value: expected });
  });

  test.each([' NoReply@Example.com', 'NOREPLY@EXAMPLE.COM'])('the placeholder email %j links nobody while the phone still does', (value) => {
    expect(tokensOf({ email: value, phone: '(415) 555-0134' }).slice(1)).toEqual([{ kind: 'phone', value: '+14155550134' }]);
  });

  test('an all-zero phone is blocked by pattern', () => {
    expect(rules.phone('+1 000 000 0000')).toBeNull();
  });
});

describe('forgotten records', () => {
  test('a forgotten record is not linked again until its source deletes it', () => {
    const table = new Table();
    table.graph.suppressed.add('crm:e:1');
    expect(table.apply(upserts(rec('crm', '1', [email('a@x.io')]))).upserted).toEqual([]);
    expect(table.apply([{ remove: { source: 'crm', entity: 'e', recordId: '1' } }]).released).toEqual([{ source: 'crm', entity: 'e', recordId: '1' }]);
  });
});

describe('convergence: the table follows the evidence both ways', () => {
  /** Which records share a customer, independent of customer IDs. */
  const partitionOf = (table: Table) => [...table.graph.customers.values()].map((c) => [...c.records.keys()].sort().join(' ')).sort();

  test('a merge whose bridging record changes its email is undone, and the merged-away ID comes back for its records', () => {
    const table = new Table();
    table.apply(upserts(rec('crm', '1', [email('a@x.io')])));
    table.apply(upserts(rec('shop', '2', [phone('+14155550134')])));
    const [older, younger] = [table.customerOf('crm', '1')!, table.customerOf('shop', '2')!];
    table.apply(upserts(rec('support', '3', [email('a@x.io'), phone('+14155550134')])));
    expect(table.customerOf('shop', '2')).toBe(older);
    const plan = table.apply(upserts(rec('support', '3', [email('a@x.io')])));
    expect(table.customerOf('shop', '2')).toBe(younger);
    expect(table.customerOf('support', '3')).toBe(older);
    expect(plan.restored).toEqual([younger]);
    expect(plan.events).toEqual([{ kind: 'SPLIT', customerId: older, otherCustomerId: younger, rule: null }]);
  });

  test('deleting the record that bridged two customers splits them again', () => {
    const table = new Table();
    table.apply(upserts(rec('crm', '1', [email('a@x.io')]), rec('shop', '2', [phone('+14155550134')])));
    table.apply(upserts(rec('support', '3', [email('a@x.io'), phone('+14155550134')])));
    expect(table.graph.customers.size).toBe(1);
    table.apply([{ remove: { source: 'support', entity: 'e', recordId: '3' } }]);
    expect(partitionOf(table)).toEqual(['crm:e:1', 'shop:e:2']);
  });

  test('a record still bridged by other evidence keeps its merge', () => {
    const table = new Table();
    table.apply(upserts(rec('crm', '1', [email('a@x.io'), phone('+14155550134')]), rec('shop', '2', [email('a@x.io'), phone('+14155550134')])));
    const plan = table.apply(upserts(rec('shop', '2', [phone('+14155550134')])));
    expect(partitionOf(table)).toEqual(['crm:e:1 shop:e:2']);
    expect(plan.removed).toEqual([]);
  });

  test('which of two CRM contacts gets a shared shop record does not depend on arrival order', () => {
    const policy: MatchPolicy = { caps: {}, uniqueEntities: new Set(['crm.e']) };
    const records = [rec('crm', 'C-2', [email('a@x.io')]), rec('crm', 'C-1', [phone('+14155550134')]), rec('shop', '7', [email('a@x.io'), phone('+14155550134')])];
    const outcomes = [[0, 1, 2], [2, 0, 1], [1, 2, 0], [2, 1, 0]].map((order) => {
      const table = new Table();
      for (const i of order) table.apply(upserts(records[i]!), policy);
      return partitionOf(table);
    });
    expect(outcomes).toEqual(outcomes.map(() => ['crm:e:C-1 shop:e:7', 'crm:e:C-2']));
  });

  test("a reviewer's merge holds against the policy, and a reviewer's split is not re-merged by the same evidence", () => {
    const table = new Table();
    const policy: MatchPolicy = { caps: {}, uniqueEntities: new Set(['crm.e']) };
    table.apply(upserts(rec('crm', '1', [email('a@x.io'), { kind: 'merge', value: 'r1' }]), rec('crm', '2', [phone('+14155550134'), { kind: 'merge', value: 'r1' }])), policy);
    expect(partitionOf(table)).toEqual(['crm:e:1 crm:e:2']);
    // A source update keeps the reviewer's token.
    table.apply(upserts(rec('crm', '1', [email('b@x.io')])), policy);
    expect(partitionOf(table)).toEqual(['crm:e:1 crm:e:2']);

    table.apply(upserts(rec('shop', '1', [email('c@x.io'), { kind: 'split', value: 'r2:a' }]), rec('shop', '2', [email('c@x.io'), { kind: 'split', value: 'r2:b' }])));
    expect(partitionOf(table)).toContain('shop:e:1');
    expect(partitionOf(table)).toContain('shop:e:2');
    const plan = table.apply(upserts(rec('support', '9', [email('c@x.io')])));
    expect(plan.conflicts).toEqual([expect.objectContaining({ reason: 'REVIEWED_SPLIT' })]);
  });
});
