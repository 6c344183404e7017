// Deterministic, seeded generator of the five source systems' records, with the ground truth of who is who.
import { PLACEHOLDER_EMAIL, emailMd5 } from './identifiers.js';

// ---------------------------------------------------------------------------------------------
// Types. Every source record carries `personId`: ground truth for tests and benchmarks only;
// the HTTP layer strips it (see record-index.ts `toWire`).
// ---------------------------------------------------------------------------------------------

interface Address {
  street: string;
  city: string;
  postalCode: string;
  country: 'US';
}

export interface Person {
  /** `P-000001`, `P-000002`, … */
  personId: string;
  firstName: string;
  lastName: string;
  /** Canonical, lower-case, unique per person. */
  email: string;
  /** Canonical E.164 (`+1AAAEEENNNN`), unique per person. */
  phone: string;
  address: Address;
}

interface GroundTruth {
  /** The `Person` this record belongs to. Never served over HTTP. */
  personId: string;
}

type LifecycleStage = 'lead' | 'opportunity' | 'customer' | 'churned';

export interface CrmContact extends GroundTruth {
  /** `C-000123`; zero-padded so string order is numeric order. */
  id: string;
  primary_email: string | null;
  first_name: string;
  last_name: string;
  phone: string | null;
  lifecycle_stage: LifecycleStage;
  /** The sales rep who owns the contact; their email is staff, not a customer identifier. */
  owner: { name: string; email: string };
  address: { street: string; city: string; zip: string; country: string };
  updated_at: string;
}

export interface ShopCustomer extends GroundTruth {
  /** Integer from 1001. */
  id: number;
  contact_email: string | null;
  phone: string | null;
  /** Full name as one string. */
  name: string;
  default_address: { address1: string; city: string; province: string; zip: string; country_code: string };
  created_at: string;
  updated_at: string;
  /** `crm_id` is the person's CRM contact ID when the shop was told it, else null. */
  metadata: { crm_id: string | null };
}

type ShopOrderStatus = 'paid' | 'fulfilled' | 'refunded' | 'cancelled';

interface ShopLineItem {
  sku: string;
  title: string;
  quantity: number;
  unit_price_cents: number;
}

export interface ShopOrder extends GroundTruth {
  id: number;
  /** `#1001`, `#1002`, … in order of creation. */
  number: string;
  customer_id: number;
  status: ShopOrderStatus;
  currency: 'USD' | 'EUR';
  created_at: string;
  line_items: ShopLineItem[];
  /** Sum of quantity × unit_price_cents over the line items. */
  total_cents: number;
}

export interface SupportUser extends GroundTruth {
  /** Integer from 50001. */
  id: number;
  name: string;
  /** The user's email, `noreply@example.com` (any case) for placeholder users, or null. */
  email: string | null;
  phone: string | null;
  created_at: string;
  updated_at: string;
}

export type TicketStatus = 'new' | 'open' | 'pending' | 'solved' | 'closed';
type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';

export interface SupportTicket extends GroundTruth {
  id: number;
  requester_id: number;
  subject: string;
  status: TicketStatus;
  priority: TicketPriority;
  created_at: string;
  updated_at: string;
}

type MarketingStatus = 'subscribed' | 'unsubscribed' | 'cleaned';
type MarketingList = 'newsletter' | 'product-updates' | 'offers';

interface MarketingMember extends GroundTruth {
  /** md5 hex of the lower-cased, trimmed email address. */
  id: string;
  email_address: string;
  status: MarketingStatus;
  /** Mailchimp-style: an unknown merge field is the empty string, not null. */
  merge_fields: { FNAME: string; LNAME: string; PHONE: string };
  lists: MarketingList[];
  consent: { email: { granted: boolean; timestamp: string } };
  last_changed: string;
}

type DevicePlatform = 'ios' | 'android' | 'web';

interface AnalyticsDevice extends GroundTruth {
  /** `dev_` + 12 hex digits. */
  device_id: string;
  platform: DevicePlatform;
  /** md5 of the person's normalised email, or null. */
  email_md5: string | null;
  /** The person's CRM contact ID, or null. At least one of email_md5 / user_id is set. */
  user_id: string | null;
  first_seen: string;
  last_seen: string;
}

type AnalyticsEventName = 'page_view' | 'add_to_cart' | 'checkout' | 'login' | 'search';

interface AnalyticsEvent extends GroundTruth {
  event_id: string;
  device_id: string;
  event: AnalyticsEventName;
  timestamp: string;
  properties: { path?: string; query?: string; value_cents?: number };
}

export interface Dataset {
  seed: number;
  people: Person[];
  crm: { contacts: CrmContact[] };
  shop: { customers: ShopCustomer[]; orders: ShopOrder[] };
  support: { users: SupportUser[]; tickets: SupportTicket[] };
  marketing: { members: MarketingMember[] };
  analytics: { devices: AnalyticsDevice[]; events: AnalyticsEvent[] };
}

export interface DatasetOptions {
  /** Number of ground-truth people (default 10,000; at most 9,999,999). IDs have six digits up to 999,999, seven beyond. */
  people?: number;
  /** PRNG seed (default 42). */
  seed?: number;
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** Values with relative weights, e.g. `[['a', 3], ['b', 1]]` yields 'a' 75% of the time. */
type Weights<T> = ReadonlyArray<readonly [T, number]>;

/** mulberry32: tiny, fast and good enough for test data; one stream per dataset keeps output reproducible. */
class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  weighted<T>(choices: Weights<T>): T {
    let total = 0;
    for (const [, weight] of choices) total += weight;
    let roll = this.next() * total;
    for (const [value, weight] of choices) {
      roll -= weight;
      if (roll < 0) return value;
    }
    const last = choices[choices.length - 1];
    if (!last) throw new Error('weighted pick from an empty list');
    return last[0];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }

  /** Millisecond instant in [from, to), rounded to whole seconds like most APIs report. */
  instant(from: number, to: number): number {
    return Math.floor((from + this.next() * Math.max(0, to - from)) / 1000) * 1000;
  }
}

// ---------------------------------------------------------------------------------------------
// Reference data
// ---------------------------------------------------------------------------------------------

const FIRST_NAMES = [
  'Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'John',
  'Radia', 'Tim', 'Hedy', 'Claude', 'Katherine', 'Donald', 'Edsger', 'Sophie', 'Anita', 'Guido',
  'Yukihiro', 'Bjarne', 'Niklaus', 'Shafi', 'Leslie', 'Adele', 'Jean', 'Karen', 'Evelyn', 'Carol',
  'Mary', 'James', 'Robert', 'Priya', 'Arjun', 'Mei', 'Wei', 'Hiroshi', 'Aiko', 'Fatima',
  'Omar', 'Amara', 'Kwame', 'Ingrid', 'Lars', 'Sofia', 'Mateo', 'Lucía', 'Chloé', 'Zoë',
  'Noah', 'Liam', 'Emma', 'Olivia', 'Ava', 'Isabella', 'Ethan', 'Harper', 'Siobhan', 'José',
] as const;

const LAST_NAMES = [
  'Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen', 'McCarthy',
  'Perlman', 'Berners-Lee', 'Lamarr', 'Shannon', 'Johnson', 'Knuth', 'Dijkstra', 'Wilson', 'Borg', 'van Rossum',
  'Matsumoto', 'Stroustrup', 'Wirth', 'Goldwasser', 'Lamport', 'Goldberg', 'Sammet', 'Spärck Jones', 'Clarke', 'Shaw',
  'Keller', 'Smith', 'Brown', 'Patel', 'Sharma', 'Chen', 'Wang', 'Tanaka', 'Suzuki', 'Haddad',
  'Farouk', 'Okafor', 'Mensah', 'Larsen', 'Andersen', 'Rossi', 'García', 'Martínez', 'Dubois', 'Müller',
  'Nguyen', 'Kim', 'Park', "O'Brien", 'Murphy', 'Kowalski', 'Novak', 'Silva', 'Cohen', 'Ivanova',
] as const;

/** Customer email domains; `example.com` is deliberately absent so the placeholder never collides. */
const EMAIL_DOMAINS = [
  'gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'example.org', 'acme.io', 'fastmail.com', 'hey.com',
] as const;

interface City {
  city: string;
  state: string;
  areaCodes: readonly string[];
  zipPrefix: string;
}

const CITIES: readonly City[] = [
  { city: 'San Francisco', state: 'CA', areaCodes: ['415', '628'], zipPrefix: '941' },
  { city: 'New York', state: 'NY', areaCodes: ['212', '646'], zipPrefix: '100' },
  { city: 'Chicago', state: 'IL', areaCodes: ['312', '773'], zipPrefix: '606' },
  { city: 'Boston', state: 'MA', areaCodes: ['617', '857'], zipPrefix: '021' },
  { city: 'Seattle', state: 'WA', areaCodes: ['206'], zipPrefix: '981' },
  { city: 'Austin', state: 'TX', areaCodes: ['512', '737'], zipPrefix: '787' },
  { city: 'Denver', state: 'CO', areaCodes: ['303', '720'], zipPrefix: '802' },
  { city: 'Atlanta', state: 'GA', areaCodes: ['404', '678'], zipPrefix: '303' },
  { city: 'Los Angeles', state: 'CA', areaCodes: ['213', '310'], zipPrefix: '900' },
  { city: 'Portland', state: 'OR', areaCodes: ['503', '971'], zipPrefix: '972' },
  { city: 'Miami', state: 'FL', areaCodes: ['305', '786'], zipPrefix: '331' },
  { city: 'Philadelphia', state: 'PA', areaCodes: ['215', '267'], zipPrefix: '191' },
];
const STATE_BY_CITY = new Map(CITIES.map((c) => [c.city, c.state]));

const STREET_NAMES = ['Market', 'Mission', 'Oak', 'Pine', 'Maple', 'Cedar', 'Elm', 'Washington', 'Lake', 'Hill', 'Park', 'Main', 'Sunset', 'Broadway', 'Valencia', 'Harbor'] as const;
const STREET_SUFFIXES = ['St', 'Ave', 'Blvd', 'Rd', 'Ln', 'Way', 'Dr'] as const;

const SALES_REPS = [
  { name: 'Dana Whitfield', email: 'dana.whitfield@sales.rosetta-crm.example' },
  { name: 'Marcus Oyelaran', email: 'marcus.oyelaran@sales.rosetta-crm.example' },
  { name: 'Ines Carvalho', email: 'ines.carvalho@sales.rosetta-crm.example' },
  { name: 'Tomasz Zielinski', email: 'tomasz.zielinski@sales.rosetta-crm.example' },
  { name: 'Rachel Kimura', email: 'rachel.kimura@sales.rosetta-crm.example' },
  { name: 'Ben Adeyemi', email: 'ben.adeyemi@sales.rosetta-crm.example' },
] as const;

const PRODUCTS = [
  { sku: 'TEE-BLK-M', title: 'Logo T-shirt, black, M', price: 2400 },
  { sku: 'TEE-WHT-L', title: 'Logo T-shirt, white, L', price: 2400 },
  { sku: 'HOOD-GRY-M', title: 'Zip hoodie, grey, M', price: 5900 },
  { sku: 'MUG-12OZ', title: 'Enamel mug 12 oz', price: 1600 },
  { sku: 'CAP-NVY', title: 'Baseball cap, navy', price: 2200 },
  { sku: 'BAG-TOTE', title: 'Canvas tote bag', price: 1800 },
  { sku: 'BOTTLE-750', title: 'Steel bottle 750 ml', price: 3200 },
  { sku: 'NOTE-A5', title: 'Dot-grid notebook A5', price: 1400 },
  { sku: 'STICK-PACK', title: 'Sticker pack', price: 600 },
  { sku: 'SOCK-3PK', title: 'Socks, 3 pack', price: 1900 },
  { sku: 'KEYB-TKL', title: 'Mechanical keyboard TKL', price: 12900 },
  { sku: 'DESK-MAT', title: 'Felt desk mat', price: 3900 },
] as const;

const TICKET_SUBJECTS = [
  'Where is my order?', 'Refund request', 'Cannot log in', 'Wrong size delivered', 'Change shipping address',
  'Invoice needed for my company', 'Item arrived damaged', 'How do I cancel my subscription?', 'Discount code not working',
  'Question about product sizing', 'Password reset email never arrived', 'Double charged on my card',
] as const;

const PAGE_PATHS = ['/', '/products', '/products/tee', '/products/hoodie', '/products/mug', '/cart', '/account', '/help', '/blog/launch'] as const;
const SEARCH_QUERIES = ['hoodie', 'gift card', 'mug', 'black tee', 'keyboard', 'returns', 'size guide', 'socks'] as const;

const MARKETING_LISTS: readonly MarketingList[] = ['newsletter', 'product-updates', 'offers'];

// Relative frequencies of each categorical value.
const EMAIL_STYLES: Weights<'dotted' | 'joined' | 'initial' | 'underscore'> = [['dotted', 5], ['joined', 2], ['initial', 2], ['underscore', 1]];
const EMAIL_CASINGS: Weights<'as-is' | 'upper' | 'capitalised'> = [['as-is', 6], ['upper', 1.5], ['capitalised', 2.5]];
const CRM_SHAPES: Weights<Shape> = [['both', 85], ['email-only', 10], ['phone-only', 5]];
const SHOP_SHAPES: Weights<Shape> = [['both', 75], ['email-only', 17], ['phone-only', 8]];
const SUPPORT_SHAPES: Weights<Shape> = [['both', 70], ['email-only', 22], ['phone-only', 8]];
const LIFECYCLE_STAGES: Weights<LifecycleStage> = [['lead', 3], ['opportunity', 2], ['customer', 4], ['churned', 1]];
const ORDER_STATUSES: Weights<ShopOrderStatus> = [['fulfilled', 55], ['paid', 25], ['refunded', 10], ['cancelled', 10]];
const TICKET_STATUSES: Weights<TicketStatus> = [['new', 1], ['open', 2], ['pending', 1], ['solved', 4], ['closed', 3]];
const TICKET_PRIORITIES: Weights<TicketPriority> = [['low', 2], ['normal', 5], ['high', 2], ['urgent', 1]];
const MARKETING_STATUSES: Weights<MarketingStatus> = [['subscribed', 70], ['unsubscribed', 25], ['cleaned', 5]];
const DEVICE_IDENTIFIERS: Weights<'both' | 'email' | 'crm'> = [['both', 4], ['email', 3], ['crm', 3]];
const DEVICE_PLATFORMS: Weights<DevicePlatform> = [['ios', 4], ['android', 3], ['web', 3]];
const EVENT_NAMES: Weights<AnalyticsEventName> = [['page_view', 10], ['search', 3], ['add_to_cart', 2], ['login', 2], ['checkout', 1]];

const TIME_START = Date.UTC(2023, 0, 1);
const TIME_END = Date.UTC(2026, 0, 1);

/** Exchanges a real US number never uses: N11 service codes and the fictional 555 block. */
function isUsableExchange(exchange: number): boolean {
  return exchange % 100 !== 11 && exchange !== 555;
}

// ---------------------------------------------------------------------------------------------
// Formatting of timestamps and IDs, tuned because it runs a million times for 100k people
// ---------------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;
const FIRST_DAY = TIME_START / DAY_MS;
// Preallocated and filled so V8 keeps them as packed arrays; '' marks a slot not computed yet.
const dayPrefixes = new Array<string>((TIME_END - TIME_START) / DAY_MS + 1).fill('');
const timeSuffixes = new Array<string>(DAY_MS / 1000).fill('');

/**
 * `2024-03-05T12:34:56Z` for a whole-second instant in [TIME_START, TIME_END]. Built from cached day and
 * time-of-day parts because Date#toISOString dominated generation time for a million timestamps; the
 * concatenation of two shared strings also costs a single small rope node rather than a new string.
 */
function iso(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  const second = Math.floor((ms - day * DAY_MS) / 1000);
  let prefix = dayPrefixes[day - FIRST_DAY] as string;
  if (prefix === '') prefix = dayPrefixes[day - FIRST_DAY] = new Date(day * DAY_MS).toISOString().slice(0, 11);
  let suffix = timeSuffixes[second] as string;
  if (suffix === '') suffix = timeSuffixes[second] = new Date(second * 1000).toISOString().slice(11, 19) + 'Z';
  return prefix + suffix;
}

/** A sequence number as fixed-width text for IDs among `count` (6 digits up to 999,999, as every dataset had): IDs sort as they are numbered. */
function padId(n: number, count: number): string {
  return String(n).padStart(Math.max(6, String(count).length), '0');
}

const HEX_BYTES = Array.from({ length: 256 }, (_, n) => n.toString(16).padStart(2, '0'));

/**
 * `prefix` + 12 hex digits that look random but are unique by construction: the low 32 bits are the
 * sequence number times an odd constant, a bijection on 32 bits. Joined from a byte table because
 * toString/padStart per ID was a hot spot at a million events.
 */
function scrambledId(prefix: string, sequence: number): string {
  const low = Math.imul(sequence + 1, 0x9e3779b1) >>> 0;
  const high = Math.imul(sequence + 1, 0x85ebca6b) >>> 16;
  return [
    prefix,
    HEX_BYTES[high >>> 8], HEX_BYTES[high & 0xff],
    HEX_BYTES[low >>> 24], HEX_BYTES[(low >>> 16) & 0xff], HEX_BYTES[(low >>> 8) & 0xff], HEX_BYTES[low & 0xff],
  ].join('');
}

// ---------------------------------------------------------------------------------------------
// Messy renderings of clean identifiers
// ---------------------------------------------------------------------------------------------

const LEADING_SPACE = [' ', '  ', '\t'] as const;
const TRAILING_SPACE = ['', ' ', ' \n'] as const;
const PLACEHOLDER_VARIANTS = [PLACEHOLDER_EMAIL, 'NoReply@Example.com', 'NOREPLY@EXAMPLE.COM', ` ${PLACEHOLDER_EMAIL}`] as const;

/** Case and whitespace noise a human-typed email picks up; the normalised form never changes. */
function messyEmail(email: string, rng: Rng): string {
  const casing = rng.weighted(EMAIL_CASINGS);
  let out = email;
  if (casing === 'upper') out = email.toUpperCase();
  else if (casing === 'capitalised') out = email.replace(/(^|[.@])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
  if (rng.chance(0.12)) out = rng.pick(LEADING_SPACE) + out + rng.pick(TRAILING_SPACE);
  return out;
}

/** One of the punctuation styles US phone numbers show up in; all reduce to the same ten digits. */
function messyPhone(e164: string, rng: Rng): string {
  const digits = e164.slice(2);
  const area = digits.slice(0, 3);
  const exchange = digits.slice(3, 6);
  const line = digits.slice(6);
  switch (rng.int(0, 4)) {
    case 0: return e164;
    case 1: return `(${area}) ${exchange}-${line}`;
    case 2: return `${area}.${exchange}.${line}`;
    case 3: return `1-${area}-${exchange}-${line}`;
    default: return `${area} ${exchange} ${line}`;
  }
}

function messyPlaceholder(rng: Rng): string {
  return rng.pick(PLACEHOLDER_VARIANTS);
}

// ---------------------------------------------------------------------------------------------
// People
// ---------------------------------------------------------------------------------------------

function emailLocalPart(name: string): string {
  return name.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
}

function generatePeople(count: number, rng: Rng): Person[] {
  const usedEmails = new Set<string>();
  const usedPhones = new Set<string>();
  const people: Person[] = [];
  for (let i = 0; i < count; i++) {
    const firstName = rng.pick(FIRST_NAMES);
    const lastName = rng.pick(LAST_NAMES);
    const home = rng.pick(CITIES);

    const first = emailLocalPart(firstName);
    const last = emailLocalPart(lastName);
    let email: string;
    do {
      const style = rng.weighted(EMAIL_STYLES);
      const name = style === 'initial' ? first.charAt(0) + last : first + (style === 'dotted' ? '.' : style === 'underscore' ? '_' : '') + last;
      email = [name, String(rng.int(1, 999)), '@', rng.pick(EMAIL_DOMAINS)].join('');
    } while (usedEmails.has(email));
    usedEmails.add(email);

    let phone: string;
    do {
      let exchange: number;
      do exchange = rng.int(200, 999);
      while (!isUsableExchange(exchange));
      phone = `+1${rng.pick(home.areaCodes)}${exchange}${String(rng.int(0, 9999)).padStart(4, '0')}`;
    } while (usedPhones.has(phone));
    usedPhones.add(phone);

    people.push({
      personId: `P-${padId(i + 1, count)}`,
      firstName,
      lastName,
      email,
      phone,
      address: {
        street: `${rng.int(1, 4999)} ${rng.pick(STREET_NAMES)} ${rng.pick(STREET_SUFFIXES)}`,
        city: home.city,
        postalCode: home.zipPrefix + String(rng.int(1, 99)).padStart(2, '0'),
        country: 'US',
      },
    });
  }
  return people;
}

// ---------------------------------------------------------------------------------------------
// Who is in which system, and with which identifiers
// ---------------------------------------------------------------------------------------------

/**
 * Which identifiers a record carries. 'placeholder' (support only) carries the phone and the shared
 * noreply address, so for linking it counts as phone-only.
 */
type Shape = 'both' | 'email-only' | 'phone-only' | 'placeholder';

const IDENTITY_SLOTS = ['crm', 'shop', 'support', 'marketing'] as const;
type IdentitySlot = (typeof IDENTITY_SLOTS)[number];

interface PersonPlan {
  crm?: Shape;
  shop?: Shape;
  support?: Shape;
  marketing?: Shape;
  devices: number;
}

const hasIdentityRecord = (plan: PersonPlan): boolean => IDENTITY_SLOTS.some((slot) => plan[slot] !== undefined);
const carriesEmail = (shape: Shape | undefined): boolean => shape === 'both' || shape === 'email-only';
const lacksEmail = (shape: Shape | undefined): boolean => shape === 'phone-only' || shape === 'placeholder';

function planPeople(count: number, rng: Rng): PersonPlan[] {
  const plans: PersonPlan[] = [];
  for (let i = 0; i < count; i++) {
    const plan: PersonPlan = { devices: 0 };
    if (rng.chance(0.9)) plan.crm = rng.weighted(CRM_SHAPES);
    if (rng.chance(0.6)) plan.shop = rng.weighted(SHOP_SHAPES);
    if (rng.chance(0.4)) plan.support = rng.weighted(SUPPORT_SHAPES);
    // The marketing tool keys members by email, so it only knows people who gave it one.
    if (rng.chance(0.5)) plan.marketing = rng.chance(0.4) ? 'both' : 'email-only';
    if (rng.chance(0.5)) plan.devices = rng.int(1, 2);
    // Every ground-truth person is visible somewhere, so "customers the hub can find" equals `people`.
    if (!hasIdentityRecord(plan) && plan.devices === 0) plan.crm = 'both';
    plans.push(plan);
  }

  const supportMembers = plans.flatMap((plan, i) => (plan.support ? [i] : []));
  const placeholderCount = Math.min(
    supportMembers.length,
    Math.max(count >= 50 ? 3 : 0, Math.round(supportMembers.length * 0.005)),
  );
  for (const i of rng.shuffle(supportMembers).slice(0, placeholderCount)) (plans[i] as PersonPlan).support = 'placeholder';

  for (const plan of plans) keepLinkable(plan);
  return plans;
}

/**
 * Adjusts a plan so that linking on normalised email, phone, CRM ID and email md5 reconstructs the
 * person exactly: records with the email are connected through it, records with the phone through it,
 * so only a person with both an email-only and a phone-only record needs one record carrying both.
 */
function keepLinkable(plan: PersonPlan): void {
  const slots = IDENTITY_SLOTS.filter((slot) => plan[slot] !== undefined);
  const shapes = slots.map((slot) => plan[slot]);
  const bridgeNeeded = shapes.includes('email-only') && shapes.some(lacksEmail) && !shapes.includes('both');
  if (bridgeNeeded) upgradeFirst(plan, slots, 'email-only');

  // A device identifies its person by CRM ID or email md5; without a CRM contact it needs some other
  // record to carry the email, else it would form a person of its own.
  if (plan.devices > 0 && !plan.crm && slots.length > 0 && !slots.some((slot) => carriesEmail(plan[slot]))) {
    if (!upgradeFirst(plan, slots, 'phone-only')) plan.devices = 0;
  }
}

function upgradeFirst(plan: PersonPlan, slots: readonly IdentitySlot[], from: Shape): boolean {
  const slot = slots.find((s) => plan[s] === from);
  if (!slot) return false;
  plan[slot] = 'both';
  return true;
}

function emailFor(shape: Shape, person: Person, rng: Rng): string | null {
  if (shape === 'placeholder') return messyPlaceholder(rng);
  return carriesEmail(shape) ? messyEmail(person.email, rng) : null;
}

function phoneFor(shape: Shape, person: Person, rng: Rng): string | null {
  return shape === 'email-only' ? null : messyPhone(person.phone, rng);
}

/** Person indices holding a record in one system, in the shuffled order that system assigns IDs. */
function membersInIdOrder(plans: readonly PersonPlan[], slot: IdentitySlot, rng: Rng): number[] {
  return rng.shuffle(plans.flatMap((plan, i) => (plan[slot] ? [i] : [])));
}

/**
 * Indices of `instants` (whole seconds within the dataset's time range) from oldest to newest, ties by
 * index. Packs (second, index) into one double so a native typed-array sort replaces a comparator sort,
 * which was the slowest step of generating 100k people.
 */
function chronologicalOrder(instants: readonly number[]): number[] {
  const indexSpan = 2 ** 26;
  if (instants.length >= indexSpan) throw new RangeError('too many records to order');
  const keys = new Float64Array(instants.length);
  for (let i = 0; i < instants.length; i++) keys[i] = (((instants[i] as number) - TIME_START) / 1000) * indexSpan + i;
  keys.sort();
  return Array.from(keys, (key) => key % indexSpan);
}

function personAt(people: readonly Person[], index: number): Person {
  const person = people[index];
  if (!person) throw new Error(`no person at index ${index}`);
  return person;
}

// ---------------------------------------------------------------------------------------------
// Systems
// ---------------------------------------------------------------------------------------------

function buildCrm(people: readonly Person[], plans: readonly PersonPlan[], rng: Rng) {
  const crmIdByPerson = new Array<string | undefined>(people.length);
  const contacts = membersInIdOrder(plans, 'crm', rng).map((i, n): CrmContact => {
    const person = personAt(people, i);
    const shape = plans[i]?.crm ?? 'both';
    const id = `C-${padId(n + 1, people.length)}`;
    crmIdByPerson[i] = id;
    return {
      personId: person.personId,
      id,
      primary_email: emailFor(shape, person, rng),
      first_name: person.firstName,
      last_name: person.lastName,
      phone: phoneFor(shape, person, rng),
      lifecycle_stage: rng.weighted(LIFECYCLE_STAGES),
      owner: { ...rng.pick(SALES_REPS) },
      address: { street: person.address.street, city: person.address.city, zip: person.address.postalCode, country: 'US' },
      updated_at: iso(rng.instant(TIME_START, TIME_END)),
    };
  });
  return { contacts, crmIdByPerson };
}

function buildShop(people: readonly Person[], plans: readonly PersonPlan[], crmIdByPerson: readonly (string | undefined)[], rng: Rng) {
  const customers: ShopCustomer[] = [];
  const orders: ShopOrder[] = [];
  const orderCreatedMs: number[] = [];

  for (const i of membersInIdOrder(plans, 'shop', rng)) {
    const person = personAt(people, i);
    const shape = plans[i]?.shop ?? 'both';
    const id = 1001 + customers.length;
    const createdMs = rng.instant(TIME_START, TIME_END - 30 * 86_400_000);
    const crmId = crmIdByPerson[i];
    customers.push({
      personId: person.personId,
      id,
      contact_email: emailFor(shape, person, rng),
      phone: phoneFor(shape, person, rng),
      name: `${person.firstName} ${person.lastName}`,
      default_address: {
        address1: person.address.street,
        city: person.address.city,
        province: STATE_BY_CITY.get(person.address.city) ?? '',
        zip: person.address.postalCode,
        country_code: person.address.country,
      },
      created_at: iso(createdMs),
      updated_at: iso(rng.instant(createdMs, TIME_END)),
      metadata: { crm_id: crmId !== undefined && rng.chance(0.5) ? crmId : null },
    });

    const currency = rng.chance(0.85) ? 'USD' : 'EUR';
    const orderCount = rng.int(0, 6);
    for (let k = 0; k < orderCount; k++) {
      const line_items: ShopLineItem[] = [];
      let total_cents = 0;
      for (let n = rng.int(1, 4); n > 0; n--) {
        const product = rng.pick(PRODUCTS);
        const quantity = rng.int(1, 3);
        line_items.push({ sku: product.sku, title: product.title, quantity, unit_price_cents: product.price });
        total_cents += quantity * product.price;
      }
      const createdMsOfOrder = rng.instant(createdMs, TIME_END);
      orderCreatedMs.push(createdMsOfOrder);
      orders.push({
        personId: person.personId,
        id: 0,
        number: '',
        customer_id: id,
        status: rng.weighted(ORDER_STATUSES),
        currency,
        created_at: iso(createdMsOfOrder),
        line_items,
        total_cents,
      });
    }
  }

  // Numbered like a database sequence would have: in order of creation.
  const numbered = chronologicalOrder(orderCreatedMs).map((index, rank) => {
    const order = orders[index] as ShopOrder;
    order.id = 4_000_001 + rank;
    order.number = `#${1001 + rank}`;
    return order;
  });
  return { customers, orders: numbered };
}

function buildSupport(people: readonly Person[], plans: readonly PersonPlan[], rng: Rng) {
  const users: SupportUser[] = [];
  const tickets: SupportTicket[] = [];
  const ticketCreatedMs: number[] = [];

  for (const i of membersInIdOrder(plans, 'support', rng)) {
    const person = personAt(people, i);
    const shape = plans[i]?.support ?? 'both';
    const id = 50_001 + users.length;
    const createdMs = rng.instant(TIME_START, TIME_END - 30 * 86_400_000);
    users.push({
      personId: person.personId,
      id,
      name: `${person.firstName} ${person.lastName}`,
      email: emailFor(shape, person, rng),
      phone: phoneFor(shape, person, rng),
      created_at: iso(createdMs),
      updated_at: iso(rng.instant(createdMs, TIME_END)),
    });

    const ticketCount = rng.int(0, 5);
    for (let k = 0; k < ticketCount; k++) {
      const createdMsOfTicket = rng.instant(createdMs, TIME_END);
      ticketCreatedMs.push(createdMsOfTicket);
      tickets.push({
        personId: person.personId,
        id: 0,
        requester_id: id,
        subject: rng.pick(TICKET_SUBJECTS),
        status: rng.weighted(TICKET_STATUSES),
        priority: rng.weighted(TICKET_PRIORITIES),
        created_at: iso(createdMsOfTicket),
        updated_at: iso(rng.instant(createdMsOfTicket, TIME_END)),
      });
    }
  }

  const numbered = chronologicalOrder(ticketCreatedMs).map((index, rank) => {
    const ticket = tickets[index] as SupportTicket;
    ticket.id = 1 + rank;
    return ticket;
  });
  return { users, tickets: numbered };
}

function buildMarketing(people: readonly Person[], plans: readonly PersonPlan[], rng: Rng) {
  const members = membersInIdOrder(plans, 'marketing', rng).map((i): MarketingMember => {
    const person = personAt(people, i);
    const status = rng.weighted(MARKETING_STATUSES);
    const lists = status === 'subscribed' ? MARKETING_LISTS.filter(() => rng.chance(0.6)) : [];
    const changedMs = rng.instant(TIME_START, TIME_END);
    return {
      personId: person.personId,
      id: emailMd5(person.email),
      // Marketing tools lower-case on import more often than not, so only casing varies here.
      email_address: rng.chance(0.7) ? person.email : person.email.toUpperCase(),
      status,
      merge_fields: {
        FNAME: person.firstName,
        LNAME: person.lastName,
        PHONE: plans[i]?.marketing === 'both' ? messyPhone(person.phone, rng) : '',
      },
      lists,
      consent: { email: { granted: status === 'subscribed', timestamp: iso(rng.instant(TIME_START, changedMs)) } },
      last_changed: iso(changedMs),
    };
  });
  return { members };
}

function buildAnalytics(people: readonly Person[], plans: readonly PersonPlan[], crmIdByPerson: readonly (string | undefined)[], rng: Rng) {
  const devices: AnalyticsDevice[] = [];
  const events: AnalyticsEvent[] = [];

  const owners = rng.shuffle(plans.flatMap((plan, i) => Array.from({ length: plan.devices }, () => i)));
  for (const i of owners) {
    const person = personAt(people, i);
    const plan = plans[i] as PersonPlan;
    const crmId = crmIdByPerson[i];
    const mayUseEmail = !hasIdentityRecord(plan) || IDENTITY_SLOTS.some((slot) => carriesEmail(plan[slot]));
    const mayUseCrmId = crmId !== undefined;
    const identifiedBy = mayUseEmail && mayUseCrmId
      ? rng.weighted(DEVICE_IDENTIFIERS)
      : mayUseEmail ? 'email' : 'crm';

    const firstSeenMs = rng.instant(TIME_START, TIME_END - 7 * 86_400_000);
    const lastSeenMs = rng.instant(firstSeenMs, TIME_END);
    const device_id = scrambledId('dev_', devices.length);
    devices.push({
      personId: person.personId,
      device_id,
      platform: rng.weighted(DEVICE_PLATFORMS),
      email_md5: identifiedBy === 'crm' ? null : emailMd5(person.email),
      user_id: identifiedBy === 'email' ? null : (crmId ?? null),
      first_seen: iso(firstSeenMs),
      last_seen: iso(lastSeenMs),
    });

    // Skewed towards few events per device, as real usage is; averages about seven.
    const eventCount = Math.floor(31 * rng.next() ** 3);
    const times: number[] = [];
    for (let k = 0; k < eventCount; k++) times.push(rng.instant(firstSeenMs, lastSeenMs + 1000));
    times.sort((a, b) => b - a);
    for (const ms of times) {
      const event = rng.weighted(EVENT_NAMES);
      events.push({
        personId: person.personId,
        event_id: scrambledId('evt_', events.length),
        device_id,
        event,
        timestamp: iso(ms),
        properties: eventProperties(event, rng),
      });
    }
  }
  return { devices, events };
}

function eventProperties(event: AnalyticsEventName, rng: Rng): AnalyticsEvent['properties'] {
  switch (event) {
    case 'page_view': return { path: rng.pick(PAGE_PATHS) };
    case 'search': return { query: rng.pick(SEARCH_QUERIES) };
    case 'add_to_cart': return { path: rng.pick(PAGE_PATHS), value_cents: rng.pick(PRODUCTS).price };
    case 'checkout': return { value_cents: rng.int(1, 8) * rng.pick(PRODUCTS).price };
    case 'login': return {};
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

export function generateDataset(options: DatasetOptions = {}): Dataset {
  const { people: count = 10_000, seed = 42 } = options;
  if (!Number.isInteger(count) || count < 0 || count > 9_999_999) {
    throw new RangeError(`people must be an integer in [0, 9999999], got ${count}`);
  }
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);

  const rng = new Rng(seed);
  const people = generatePeople(count, rng);
  const plans = planPeople(count, rng);
  const crm = buildCrm(people, plans, rng);
  return {
    seed,
    people,
    crm: { contacts: crm.contacts },
    shop: buildShop(people, plans, crm.crmIdByPerson, rng),
    support: buildSupport(people, plans, rng),
    marketing: buildMarketing(people, plans, rng),
    analytics: buildAnalytics(people, plans, crm.crmIdByPerson, rng),
  };
}

/**
 * The ground-truth answer a linker should reach: for each personId, that person's identity records as
 * `source:recordId` (`crm:C-000042`, `shop:1007`, `support:50012`, `marketing:<md5>`, `analytics:dev_…`).
 * People with no record anywhere are absent (the generator puts everyone somewhere).
 */
export function groundTruthGroups(dataset: Dataset): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const add = (personId: string, ref: string): void => {
    const group = groups.get(personId);
    if (group) group.push(ref);
    else groups.set(personId, [ref]);
  };
  for (const r of dataset.crm.contacts) add(r.personId, `crm:${r.id}`);
  for (const r of dataset.shop.customers) add(r.personId, `shop:${r.id}`);
  for (const r of dataset.support.users) add(r.personId, `support:${r.id}`);
  for (const r of dataset.marketing.members) add(r.personId, `marketing:${r.id}`);
  for (const r of dataset.analytics.devices) add(r.personId, `analytics:${r.device_id}`);
  return groups;
}
