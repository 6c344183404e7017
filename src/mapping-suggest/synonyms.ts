// The names source systems give each unified field, and how closely a field path's name matches one of them.
import type { ShapeFields, SuggestionShape } from './targets.js';

type SynonymTable = { [S in SuggestionShape]: Record<ShapeFields<S>, readonly string[]> };

const UPDATED_AT = ['updated_at', 'updated', 'modified', 'modified_at', 'last_modified', 'last_modified_at', 'date_modified', 'modified_date', 'last_updated', 'last_changed', 'changed_at', 'updated_on', 'update_time', 'mtime'];

/**
 * Field names seen in the wild (CRMs, shops, help desks, marketing and analytics tools), compared after
 * lower-casing and dropping separators, so `first_name`, `firstName` and `FIRST-NAME` are one entry.
 */
const SYNONYMS: SynonymTable = {
  profile: {
    firstName: ['first_name', 'given_name', 'fname', 'forename', 'first', 'name_first'],
    lastName: ['last_name', 'surname', 'family_name', 'lname', 'last', 'name_last'],
    name: ['name', 'full_name', 'display_name', 'customer_name', 'contact_name', 'person_name'],
    email: ['email', 'email_address', 'primary_email', 'contact_email', 'mail', 'e_mail', 'email_addr', 'work_email', 'personal_email', 'user_email', 'customer_email'],
    phone: ['phone', 'phone_number', 'mobile', 'mobile_phone', 'mobile_number', 'cell', 'cell_phone', 'telephone', 'tel', 'primary_phone', 'contact_phone', 'msisdn'],
    line1: ['line1', 'address1', 'address_line1', 'street', 'street_address', 'street1', 'addr1', 'address_line', 'address'],
    city: ['city', 'town', 'locality', 'municipality'],
    postalCode: ['postal_code', 'zip', 'zipcode', 'zip_code', 'postcode', 'post_code', 'postal'],
    country: ['country', 'country_code', 'country_iso', 'iso_country', 'nation'],
    updatedAt: UPDATED_AT,
  },
  marketing: {
    status: ['status', 'subscription_status', 'member_status', 'subscribed_status', 'state'],
    emailConsent: ['email_consent', 'consent', 'accepts_marketing', 'marketing_consent', 'email_opt_in', 'opt_in', 'optin', 'subscribed', 'email_marketing_consent'],
    consentedAt: ['consented_at', 'consent_date', 'consent_timestamp', 'opt_in_date', 'optin_time', 'timestamp_opt', 'opt_in_at', 'subscribed_at', 'consent_updated_at'],
    lists: ['lists', 'list_ids', 'audiences', 'segments', 'tags', 'groups', 'subscriptions', 'interests'],
    updatedAt: UPDATED_AT,
  },
  orders: {
    id: ['id', 'order_id', 'uuid', 'key'],
    number: ['number', 'order_number', 'order_no', 'name', 'reference', 'ref', 'display_id', 'order_ref', 'confirmation_number'],
    status: ['status', 'order_status', 'state', 'financial_status', 'fulfillment_status'],
    placedAt: ['placed_at', 'created_at', 'ordered_at', 'order_date', 'processed_at', 'purchased_at', 'date', 'created', 'submitted_at'],
    totalMinor: ['total', 'total_cents', 'total_price', 'amount', 'total_amount', 'grand_total', 'total_minor', 'amount_total', 'total_price_cents', 'amount_cents'],
    currency: ['currency', 'currency_code', 'iso_currency', 'presentment_currency'],
    lineItems: ['line_items', 'items', 'lines', 'products', 'order_lines', 'order_items', 'entries'],
  },
  tickets: {
    id: ['id', 'ticket_id', 'uuid'],
    subject: ['subject', 'title', 'summary', 'topic', 'headline'],
    status: ['status', 'state', 'ticket_status'],
    priority: ['priority', 'urgency', 'severity', 'prio'],
    createdAt: ['created_at', 'created', 'opened_at', 'date_created', 'submitted_at', 'creation_date', 'created_on'],
    updatedAt: UPDATED_AT,
  },
  events: {
    id: ['id', 'event_id', 'uuid', 'message_id', 'event_uuid', 'insert_id'],
    name: ['name', 'event', 'event_name', 'event_type', 'action', 'type'],
    occurredAt: ['occurred_at', 'timestamp', 'time', 'ts', 'event_time', 'sent_at', 'received_at', 'created_at', 'happened_at', 'original_timestamp'],
    deviceId: ['device_id', 'device', 'anonymous_id', 'client_id', 'installation_id', 'device_uuid'],
    properties: ['properties', 'props', 'attributes', 'traits', 'payload', 'data', 'context', 'event_properties', 'params'],
  },
  lineItems: {
    sku: ['sku', 'product_sku', 'variant_sku', 'item_code', 'product_code', 'product_id', 'variant_id'],
    title: ['title', 'name', 'product_name', 'item_name', 'description', 'product_title'],
    quantity: ['quantity', 'qty', 'count', 'units'],
    unitPriceMinor: ['unit_price', 'price', 'unit_price_cents', 'unit_amount', 'price_cents', 'unit_cost', 'item_price'],
  },
};

/**
 * Parents that say a value belongs to someone other than the record's subject: `owner.email` is the
 * sales rep's address, not the customer's.
 */
const FOREIGN_CONTEXT = new Set(['owner', 'agent', 'assignee', 'rep', 'manager', 'creator', 'author', 'company', 'organization', 'organisation', 'org', 'employer', 'referrer', 'seller', 'vendor', 'merchant', 'sales', 'staff', 'admin', 'parent', 'created_by', 'updated_by']);

/** Words that join names without meaning anything (`created_at`, `is_active`). */
const STOPWORDS = new Set(['at', 'on', 'of', 'the', 'is', 'has', 'by', 'to', 'in']);

/** `merge_fields.FNAME` → `mergefieldsfname`: how table entries and names are compared. */
export function compactName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Crude stemming, enough for `consented`/`consent` and `lists`/`list` to meet; both sides are stemmed alike. */
function stem(token: string): string {
  if (token.length > 4 && token.endsWith('ies')) return `${token.slice(0, -3)}y`;
  if (token.length > 4 && token.endsWith('ed')) return token.slice(0, -2);
  if (token.length > 5 && token.endsWith('ing')) return token.slice(0, -3);
  if (token.length > 3 && token.endsWith('s') && !token.endsWith('ss') && !token.endsWith('us')) return token.slice(0, -1);
  return token;
}

/** The words of a name in any casing: `defaultAddress`, `default_address`, `ADDRESS1`, `merge-fields`. */
export function nameTokens(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([a-zA-Z])(\d)/g, '$1 $2')
    .replace(/(\d)([a-zA-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t !== '' && !STOPWORDS.has(t))
    .map(stem);
}

export interface NameMatch {
  score: number;
  /** Why, for the suggestion's comment. */
  reason: string;
}

const COMPACT_SYNONYMS = new Map<string, string[]>();
/** The field's own name, then its synonyms, compacted, in the table's order (most telling first). */
function synonymsOf(shape: SuggestionShape, field: string): string[] {
  const key = `${shape}.${field}`;
  let list = COMPACT_SYNONYMS.get(key);
  if (!list) {
    const table = SYNONYMS[shape] as Record<string, readonly string[]>;
    list = [...new Set([field, ...(table[field] ?? [])].map(compactName))];
    COMPACT_SYNONYMS.set(key, list);
  }
  return list;
}

/** Run-together names (`lastmodifieddate`) start or end with a known name; too short a name (`name`, `id`) would match anything. */
const MIN_CONTAINED = 5;

/** Whether a parent segment of the path names someone other than the record's subject. */
export function hasForeignContext(path: string): boolean {
  return path.split('.').slice(0, -1).some((segment) => FOREIGN_CONTEXT.has(segment.toLowerCase()) || nameTokens(segment).some((t) => FOREIGN_CONTEXT.has(t)));
}

/**
 * How well a dotted path's name says it holds `field` (0 to 1): a known name for the whole path, its last
 * two segments or its last segment first, else the share of a known name's words the path contains.
 */
export function nameScore(shape: SuggestionShape, field: string, path: string): NameMatch {
  const synonyms = synonymsOf(shape, field);
  const segments = path.split('.');
  const last = segments[segments.length - 1]!;
  const penalty = hasForeignContext(path) ? 0.5 : 1;
  const because = (score: number, reason: string): NameMatch => ({ score: score * penalty, reason: penalty < 1 ? `${reason}, under another party's record` : reason });
  // Two fields both carrying known names (`event` and `type` for an event's name): the one listed first wins the tie.
  const exact = (name: string, base: number) => {
    const rank = synonyms.indexOf(compactName(name));
    return rank < 0 ? null : base - 0.005 * rank;
  };
  const whole = exact(path, 1);
  if (whole !== null) return because(whole, `name "${path}" is a known name for ${field}`);
  const lastTwo = segments.length > 2 ? exact(segments.slice(-2).join(''), 0.95) : null;
  if (lastTwo !== null) return because(lastTwo, `name "${segments.slice(-2).join('.')}" is a known name for ${field}`);
  const lastOnly = exact(last, 0.9);
  if (lastOnly !== null) return because(lastOnly, `name "${last}" is a known name for ${field}`);

  const compactLast = compactName(last);
  let best = 0;
  let reason = 'no name match';
  for (const synonym of synonyms) {
    if (synonym.length < MIN_CONTAINED || !(compactLast.startsWith(synonym) || compactLast.endsWith(synonym))) continue;
    const score = 0.7 * Math.sqrt(synonym.length / compactLast.length);
    if (score > best) [best, reason] = [score, `name "${last}" contains "${synonym}", a known name for ${field}`];
  }
  const pathTokens = new Set(segments.flatMap(nameTokens));
  const table = SYNONYMS[shape] as Record<string, readonly string[]>;
  for (const synonym of [field, ...(table[field] ?? [])]) {
    const wanted = new Set(nameTokens(synonym));
    if (wanted.size === 0 || pathTokens.size === 0) continue;
    // All of a known name's words, and few others, in the path: `consent.email.granted` for `email_consent`.
    // Some of them is no evidence: `account_no` shares "no" with `order_no` and means nothing like it.
    if (![...wanted].every((t) => pathTokens.has(t))) continue;
    const score = 0.75 * (0.5 + 0.5 * (wanted.size / pathTokens.size));
    if (score > best) [best, reason] = [score, `name "${path}" shares words with ${field}`];
  }
  return best > 0 ? because(best, reason) : { score: 0, reason };
}
