// The reference hub's mapping: the demo config's field mappings for the five simulated systems, written by hand.
//
// What a developer writing one Apollo server for these five APIs would write: one function per record shape, no
// declarative mapping, no per-field error capture. The output equals the hub's for the bench queries
// (test/bench/reference-hub.test.ts proves it).
import { normalizeEmail, normalizePhone } from '../../src/sources/normalize.js';

export type Raw = Record<string, any>;

/** A source record as the reference keeps it: where it came from, and the values the graph reads. */
export interface RefRecord {
  source: string;
  entity: string;
  recordId: string;
  fetchedAt: string;
  values: Record<string, unknown>;
}

/** Trimmed text, numbers as text, blank as null: what the hub's `string` transform does. */
function text(value: unknown): string | null {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? null : trimmed;
  }
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : null;
}

const upper = (value: unknown): string | null => text(value)?.toUpperCase() ?? null;

/** ISO-8601 UTC with milliseconds, from ISO text or epoch seconds / milliseconds. */
function isoDate(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && value.length === 24 && value.endsWith('Z')) return value;
  const ms = typeof value === 'number' ? (value < 1e11 ? value * 1000 : value) : Date.parse(String(value));
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

export interface MappingOptions {
  defaultPhoneRegion: string;
}

export function mappers({ defaultPhoneRegion }: MappingOptions) {
  const email = (value: unknown) => (value === null || value === undefined ? null : normalizeEmail(value));
  const phone = (value: unknown) => (value === null || value === undefined ? null : normalizePhone(value, defaultPhoneRegion));
  const record = (source: string, entity: string, recordId: unknown, fetchedAt: string, values: Record<string, unknown>): RefRecord => ({ source, entity, recordId: String(recordId), fetchedAt, values });
  return {
    crmContact: (raw: Raw, fetchedAt: string) =>
      record('crm', 'contact', raw.id, fetchedAt, {
        firstName: text(raw.first_name),
        lastName: text(raw.last_name),
        email: email(raw.primary_email),
        phone: phone(raw.phone),
        line1: text(raw.address?.street),
        city: text(raw.address?.city),
        postalCode: text(raw.address?.zip),
        country: upper(raw.address?.country),
        updatedAt: isoDate(raw.updated_at),
        // Profile.lifecycleStage, the demo's extension field (config/extensions/lifecycle-stage.graphql).
        lifecycleStage: text(raw.lifecycle_stage),
      }),
    shopCustomer: (raw: Raw, fetchedAt: string) =>
      record('shop', 'customer', raw.id, fetchedAt, {
        name: text(raw.name),
        email: email(raw.contact_email),
        phone: phone(raw.phone),
        line1: text(raw.default_address?.address1),
        city: text(raw.default_address?.city),
        postalCode: text(raw.default_address?.zip),
        country: upper(raw.default_address?.country_code),
        updatedAt: isoDate(raw.updated_at),
      }),
    supportUser: (raw: Raw, fetchedAt: string) =>
      record('support', 'user', raw.id, fetchedAt, { name: text(raw.name), email: email(raw.email), phone: phone(raw.phone), updatedAt: isoDate(raw.updated_at) }),
    marketingMember: (raw: Raw, fetchedAt: string) =>
      record('marketing', 'member', raw.id, fetchedAt, {
        status: upper(raw.status),
        emailConsent: typeof raw.consent?.email?.granted === 'boolean' ? raw.consent.email.granted : null,
        consentedAt: isoDate(raw.consent?.email?.timestamp),
        lists: Array.isArray(raw.lists) ? raw.lists.map(text).filter((s: string | null) => s !== null) : [],
        updatedAt: isoDate(raw.last_changed),
      }),
    shopOrder: (raw: Raw, fetchedAt: string) =>
      record('shop', 'order', raw.id, fetchedAt, {
        id: text(raw.id),
        number: text(raw.number),
        placedAt: isoDate(raw.created_at),
        totalMinor: raw.total_cents ?? null,
        currency: text(raw.currency),
        lineItems: (Array.isArray(raw.line_items) ? raw.line_items : []).map((item: Raw) => ({
          sku: text(item.sku),
          title: text(item.title),
          quantity: item.quantity ?? null,
          unitPriceMinor: item.unit_price_cents ?? null,
        })),
      }),
    supportTicket: (raw: Raw, fetchedAt: string) =>
      record('support', 'ticket', raw.id, fetchedAt, {
        id: text(raw.id),
        subject: text(raw.subject),
        status: upper(raw.status),
        priority: text(raw.priority),
        createdAt: isoDate(raw.created_at),
        updatedAt: isoDate(raw.updated_at),
      }),
    analyticsEvent: (raw: Raw, fetchedAt: string) =>
      record('analytics', 'event', raw.event_id, fetchedAt, {
        id: text(raw.event_id),
        name: text(raw.event),
        occurredAt: isoDate(raw.timestamp),
        deviceId: text(raw.device_id),
        properties: raw.properties ?? null,
      }),
  };
}

export type Mappers = ReturnType<typeof mappers>;

/** The demo config's survivorship: source priority, then the most recently updated, then the record key. */
const PRIORITY: Record<string, number> = { crm: 0, shop: 1, support: 2, marketing: 3 };

function compareRecords(a: RefRecord, b: RefRecord): number {
  const byPriority = (PRIORITY[a.source] ?? 99) - (PRIORITY[b.source] ?? 99);
  if (byPriority !== 0) return byPriority;
  const aUpdated = String(a.values.updatedAt ?? '');
  const bUpdated = String(b.values.updatedAt ?? '');
  if (aUpdated !== bUpdated) return aUpdated > bUpdated ? -1 : 1;
  const aKey = `${a.source}:${a.entity}:${a.recordId}`;
  const bKey = `${b.source}:${b.entity}:${b.recordId}`;
  return aKey < bKey ? -1 : aKey > bKey ? 1 : 0;
}

const PROFILE_FIELDS: [string, (v: Record<string, unknown>) => unknown][] = [
  ['firstName', (v) => v.firstName ?? null],
  ['lastName', (v) => v.lastName ?? null],
  ['name', (v) => v.name ?? ([v.firstName, v.lastName].filter((p) => typeof p === 'string' && p !== '').join(' ') || null)],
  ['email', (v) => v.email ?? null],
  ['phone', (v) => v.phone ?? null],
  ['address', (v) => (v.line1 == null && v.city == null && v.postalCode == null && v.country == null ? null : { line1: v.line1 ?? null, city: v.city ?? null, postalCode: v.postalCode ?? null, country: v.country ?? null })],
  // The demo's extension field: merged by the same rule, after the core fields, as the hub does.
  ['lifecycleStage', (v) => v.lifecycleStage ?? null],
];

/** Each profile field from the first record that holds it, with where it came from. */
export function mergeProfile(customerId: string, records: RefRecord[]): Record<string, unknown> {
  const ordered = records.sort(compareRecords);
  const profile: Record<string, unknown> = { id: customerId, provenance: [] };
  const provenance = profile.provenance as unknown[];
  for (const [field, read] of PROFILE_FIELDS) {
    profile[field] = null;
    for (const record of ordered) {
      const value = read(record.values);
      if (value === null) continue;
      profile[field] = value;
      provenance.push({ field, source: record.source, entity: record.entity, recordId: record.recordId, fetchedAt: record.fetchedAt, sourceUpdatedAt: record.values.updatedAt ?? null });
      break;
    }
  }
  return profile;
}

export function money(amountMinor: unknown, currency: unknown): { amountMinor: number; currency: string; formatted: string } | null {
  if (typeof amountMinor !== 'number' || typeof currency !== 'string') return null;
  const abs = Math.abs(amountMinor);
  return { amountMinor, currency, formatted: `${amountMinor < 0 ? '-' : ''}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}` };
}
