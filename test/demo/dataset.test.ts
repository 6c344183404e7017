// Guarantees of the seeded generator: determinism, realistic mess, and that the mess stays linkable to ground truth.
import { isValidPhoneNumber } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { generateDataset, groundTruthGroups } from '../../src/demo/dataset.js';
import type { Dataset } from '../../src/demo/dataset.js';
import { PLACEHOLDER_EMAIL, emailMd5, normalizeEmail, phoneKey } from '../../src/demo/identifiers.js';
import { smallDataset } from './helpers.js';

const data = smallDataset;
const larger = generateDataset({ people: 2_000, seed: 7 });

const isPlaceholder = (email: string | null): boolean => email !== null && normalizeEmail(email) === PLACEHOLDER_EMAIL;
const allRecords = (d: Dataset) => [...d.crm.contacts, ...d.shop.customers, ...d.support.users, ...d.marketing.members, ...d.analytics.devices];

/** Union-find over `source:recordId` references. */
class Components {
  private readonly parent = new Map<string, string>();

  find(x: string): string {
    let root = x;
    while (this.parent.has(root) && this.parent.get(root) !== root) root = this.parent.get(root) as string;
    this.parent.set(x, root);
    return root;
  }

  union(a: string, b: string): void {
    this.parent.set(this.find(a), this.find(b));
  }
}

/**
 * Links records the way a hub would: on normalised email (not the placeholder), digits-only phone, email md5,
 * and the explicit CRM references. Returns each record's component, keyed by `source:recordId`.
 */
function linkByIdentifiers(d: Dataset): Map<string, string> {
  const components = new Components();
  const refs: string[] = [];
  const link = (ref: string, keys: Array<string | null>): void => {
    refs.push(ref);
    components.union(ref, ref);
    for (const key of keys) if (key !== null) components.union(ref, key);
  };
  const emailKey = (email: string | null) => (email === null || isPlaceholder(email) ? null : `md5:${emailMd5(email)}`);
  const phone = (raw: string | null) => (raw ? `phone:${phoneKey(raw)}` : null);

  for (const c of d.crm.contacts) link(`crm:${c.id}`, [emailKey(c.primary_email), phone(c.phone), `crm-id:${c.id}`]);
  for (const c of d.shop.customers) link(`shop:${c.id}`, [emailKey(c.contact_email), phone(c.phone), c.metadata.crm_id && `crm-id:${c.metadata.crm_id}`]);
  for (const u of d.support.users) link(`support:${u.id}`, [emailKey(u.email), phone(u.phone)]);
  for (const m of d.marketing.members) link(`marketing:${m.id}`, [`md5:${m.id}`, phone(m.merge_fields.PHONE || null)]);
  for (const v of d.analytics.devices) link(`analytics:${v.device_id}`, [v.email_md5 && `md5:${v.email_md5}`, v.user_id && `crm-id:${v.user_id}`]);

  return new Map(refs.map((ref) => [ref, components.find(ref)]));
}

describe('generateDataset', () => {
  it('the same seed yields the same dataset', () => {
    expect(generateDataset({ people: 300, seed: 9 })).toEqual(generateDataset({ people: 300, seed: 9 }));
  });

  it('a different seed yields different data', () => {
    const a = generateDataset({ people: 50, seed: 1 });
    const b = generateDataset({ people: 50, seed: 2 });
    expect(a.people.map((p) => p.email)).not.toEqual(b.people.map((p) => p.email));
  });

  it('gives every person a unique canonical email and a unique valid US phone', () => {
    const emails = new Set(larger.people.map((p) => p.email));
    const phones = new Set(larger.people.map((p) => p.phone));
    expect(emails.size).toBe(larger.people.length);
    expect(phones.size).toBe(larger.people.length);
    for (const person of larger.people) {
      expect(person.email).toBe(normalizeEmail(person.email));
      expect(person.email).not.toBe(PLACEHOLDER_EMAIL);
      expect(person.phone).toMatch(/^\+1[2-9]\d{2}[2-9]\d{6}$/);
      expect(isValidPhoneNumber(person.phone), person.phone).toBe(true);
    }
  });

  it('numbers people P-000001 upwards', () => {
    expect(data.people[0]?.personId).toBe('P-000001');
    expect(data.people.at(-1)?.personId).toBe('P-000200');
  });

  it('puts each system at roughly its intended share of people', () => {
    const share = (records: Array<{ personId: string }>) => new Set(records.map((r) => r.personId)).size / larger.people.length;
    expect(share(larger.crm.contacts)).toBeCloseTo(0.9, 1);
    expect(share(larger.shop.customers)).toBeCloseTo(0.6, 1);
    expect(share(larger.support.users)).toBeCloseTo(0.4, 1);
    expect(share(larger.marketing.members)).toBeCloseTo(0.5, 1);
    expect(share(larger.analytics.devices)).toBeCloseTo(0.5, 1);
  });

  it('puts every person in at least one system', () => {
    expect(groundTruthGroups(larger).size).toBe(larger.people.length);
  });

  it('renders identifiers messily: email case and whitespace, five phone styles, missing emails and phones', () => {
    const emails = [...larger.crm.contacts.map((c) => c.primary_email), ...larger.shop.customers.map((c) => c.contact_email)];
    expect(emails.some((e) => e !== null && e !== e.trim())).toBe(true);
    expect(emails.some((e) => e !== null && e.trim() !== e.trim().toLowerCase())).toBe(true);
    expect(emails).toContain(null);
    expect(larger.shop.customers.some((c) => c.phone === null)).toBe(true);

    const phones = larger.crm.contacts.flatMap((c) => (c.phone ? [c.phone] : []));
    for (const style of [/^\+1\d{10}$/, /^\(\d{3}\) \d{3}-\d{4}$/, /^\d{3}\.\d{3}\.\d{4}$/, /^1-\d{3}-\d{3}-\d{4}$/, /^\d{3} \d{3} \d{4}$/]) {
      expect(phones.some((p) => style.test(p)), String(style)).toBe(true);
    }
  });

  it('every record of a person shares a normalised email or phone with another record of that person', () => {
    for (const d of [data, larger]) {
      const componentOf = linkByIdentifiers(d);
      const personOf = new Map<string, string>();
      for (const [personId, refs] of groundTruthGroups(d)) for (const ref of refs) personOf.set(ref, personId);

      // The partition the identifiers induce must be exactly the ground truth: one component per person.
      const peopleByComponent = new Map<string, Set<string>>();
      const componentsByPerson = new Map<string, Set<string>>();
      for (const [ref, component] of componentOf) {
        const personId = personOf.get(ref) as string;
        (peopleByComponent.get(component) ?? peopleByComponent.set(component, new Set()).get(component))?.add(personId);
        (componentsByPerson.get(personId) ?? componentsByPerson.set(personId, new Set()).get(personId))?.add(component);
      }
      expect(componentOf.size).toBe(personOf.size);
      expect([...peopleByComponent.values()].filter((people) => people.size > 1)).toEqual([]);
      expect([...componentsByPerson.values()].filter((components) => components.size > 1)).toEqual([]);
    }
  });

  it('never lets two people share a normalised email or phone, apart from the placeholder', () => {
    const owner = new Map<string, string>();
    const claim = (key: string, personId: string) => {
      expect(owner.get(key) ?? personId, key).toBe(personId);
      owner.set(key, personId);
    };
    for (const c of larger.crm.contacts) {
      if (c.primary_email) claim(normalizeEmail(c.primary_email), c.personId);
      if (c.phone) claim(phoneKey(c.phone), c.personId);
    }
    for (const u of larger.support.users) {
      if (u.email && !isPlaceholder(u.email)) claim(normalizeEmail(u.email), u.personId);
      if (u.phone) claim(phoneKey(u.phone), u.personId);
    }
  });

  it('placeholder support users exist and carry a phone', () => {
    for (const d of [data, larger]) {
      const placeholders = d.support.users.filter((u) => isPlaceholder(u.email));
      expect(placeholders.length).toBeGreaterThanOrEqual(3);
      expect(placeholders.length).toBeLessThanOrEqual(Math.max(3, Math.ceil(d.support.users.length * 0.01)));
      for (const user of placeholders) expect(user.phone).not.toBeNull();
    }
  });

  it('identifies every analytics device by email md5 or a CRM contact of the same person', () => {
    const contactPerson = new Map(larger.crm.contacts.map((c) => [c.id, c.personId]));
    const personByEmailMd5 = new Map(larger.people.map((p) => [emailMd5(p.email), p.personId]));
    for (const device of larger.analytics.devices) {
      expect(device.email_md5 !== null || device.user_id !== null).toBe(true);
      if (device.user_id !== null) expect(contactPerson.get(device.user_id)).toBe(device.personId);
      if (device.email_md5 !== null) expect(personByEmailMd5.get(device.email_md5)).toBe(device.personId);
      expect(device.device_id).toMatch(/^dev_[0-9a-f]{12}$/);
    }
    expect(new Set(larger.analytics.devices.map((d) => d.device_id)).size).toBe(larger.analytics.devices.length);
  });

  it('keys marketing members by the md5 of their normalised email', () => {
    for (const member of larger.marketing.members) expect(member.id).toBe(emailMd5(member.email_address));
  });

  it('points shop crm_id only at the same person’s CRM contact, for about half the shop customers who have one', () => {
    const contactPerson = new Map(larger.crm.contacts.map((c) => [c.id, c.personId]));
    const withContact = larger.shop.customers.filter((c) => larger.crm.contacts.some((k) => k.personId === c.personId));
    const withCrmId = larger.shop.customers.filter((c) => c.metadata.crm_id !== null);
    for (const customer of withCrmId) expect(contactPerson.get(customer.metadata.crm_id as string)).toBe(customer.personId);
    expect(withCrmId.length / withContact.length).toBeCloseTo(0.5, 1);
  });

  it('totals each order as the sum of its line items and numbers orders in creation order', () => {
    for (const order of larger.shop.orders) {
      const sum = order.line_items.reduce((total, item) => total + item.quantity * item.unit_price_cents, 0);
      expect(order.total_cents).toBe(sum);
    }
    const byId = [...larger.shop.orders].sort((a, b) => a.id - b.id);
    expect(byId[0]?.number).toBe('#1001');
    for (let i = 1; i < byId.length; i++) expect(byId[i]!.created_at >= byId[i - 1]!.created_at).toBe(true);
  });

  it('keeps ID ranges and formats: C-000001, shop from 1001, support from 50001', () => {
    expect(data.crm.contacts[0]?.id).toBe('C-000001');
    expect(data.shop.customers[0]?.id).toBe(1001);
    expect(data.support.users[0]?.id).toBe(50_001);
  });

  it('dates everything within 2023–2025 and never updates a record before it was created', () => {
    const stamps = [
      ...larger.shop.customers.flatMap((c) => [c.created_at, c.updated_at]),
      ...larger.support.tickets.flatMap((t) => [t.created_at, t.updated_at]),
      ...larger.analytics.events.map((e) => e.timestamp),
    ];
    for (const stamp of stamps) {
      expect(stamp).toMatch(/^202[345]-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(new Date(stamp).toISOString().replace('.000Z', 'Z')).toBe(stamp);
    }
    for (const t of larger.support.tickets) expect(t.updated_at >= t.created_at).toBe(true);
    for (const c of larger.shop.customers) expect(c.updated_at >= c.created_at).toBe(true);
  });

  it('rejects a people count outside 0..9999999', () => {
    expect(() => generateDataset({ people: -1 })).toThrow(RangeError);
    expect(() => generateDataset({ people: 10_000_000 })).toThrow(RangeError);
  });

  it('never puts personId anywhere but the top level of a record', () => {
    const nested = JSON.stringify(allRecords(data).map(({ personId: _, ...rest }) => rest));
    expect(nested).not.toContain('personId');
  });
});
