// Seeded, deterministic slices of one set of people for the simulated vendor APIs, overlapping so identity matching is exercised.
import { generateDataset, type Person } from '../dataset.js';

/** The vendors simulated after their public API references. */
export const VENDOR_NAMES = ['stripe', 'hubspot', 'zendesk', 'shopify', 'intercom', 'auth0'] as const;
export type VendorName = (typeof VENDOR_NAMES)[number];

/** Which identifiers a vendor record carries. */
type Shape = 'both' | 'email-only' | 'phone-only';

/** One person as one vendor holds them: identifiers rendered the way people type them into that vendor's forms. */
export interface VendorPerson {
  person: Person;
  /** Index in `people`, stable for a seed: vendors derive their IDs and timestamps from it. */
  index: number;
  /** As typed (case noise), or null. */
  email: string | null;
  /** In one of the punctuation styles people use, or null. */
  phone: string | null;
  /** Seconds since the epoch: when the vendor first saw them. */
  createdAt: number;
  updatedAt: number;
  /** Children (orders, charges, tickets) this person has at the vendor. */
  children: number;
}

export interface VendorData {
  seed: number;
  people: readonly Person[];
  /** Each vendor's customers, in the order the vendor created them. */
  holders: Record<VendorName, VendorPerson[]>;
}

/** Share of people each vendor holds: every pair of vendors shares many people, none holds everyone. */
const SHARE: Record<VendorName, number> = { stripe: 0.85, hubspot: 0.8, zendesk: 0.6, shopify: 0.75, intercom: 0.65, auth0: 0.7 };
const SHAPES: ReadonlyArray<readonly [Shape, number]> = [['both', 80], ['email-only', 14], ['phone-only', 6]];
const START = Date.UTC(2023, 0, 1) / 1000;
const SPAN = 3 * 365 * 86_400;

/** mulberry32, one stream per (seed, vendor): adding a vendor never changes another's data. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function vendorSeed(seed: number, vendor: VendorName): number {
  let h = seed >>> 0;
  for (const c of vendor) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/** An email as a person typed it: the normalised form (trimmed, lower-cased) is always the person's. */
function typedEmail(email: string, random: () => number): string {
  const roll = random();
  if (roll < 0.15) return email.replace(/(^|[.@])([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
  if (roll < 0.2) return email.toUpperCase();
  return email;
}

/** A US number in a punctuation style a form accepted; `e164Only` vendors validate and store E.164. */
function typedPhone(e164: string, random: () => number, e164Only: boolean): string {
  if (e164Only) return e164;
  const d = e164.slice(2);
  const styles = [e164, `(${d.slice(0, 3)}) ${d.slice(3, 6)}-${d.slice(6)}`, `+1 ${d.slice(0, 3)}-${d.slice(3, 6)}-${d.slice(6)}`, `${d.slice(0, 3)}.${d.slice(3, 6)}.${d.slice(6)}`];
  return styles[Math.floor(random() * styles.length)]!;
}

function pickShape(random: () => number): Shape {
  let roll = random() * 100;
  for (const [shape, weight] of SHAPES) {
    roll -= weight;
    if (roll < 0) return shape;
  }
  return 'both';
}

/** Vendors that validate phone numbers into E.164 on input (Shopify, Auth0) instead of storing them as typed. */
const E164_ONLY: ReadonlySet<VendorName> = new Set(['shopify', 'auth0']);

function holdersOf(people: readonly Person[], seed: number, vendor: VendorName): VendorPerson[] {
  const random = seededRandom(vendorSeed(seed, vendor));
  const holders: VendorPerson[] = [];
  for (const [index, person] of people.entries()) {
    // Drawn for everyone, held or not, so one person's draws never shift another's.
    const held = random() < SHARE[vendor];
    const shape = pickShape(random);
    const email = typedEmail(person.email, random);
    const phone = typedPhone(person.phone, random, E164_ONLY.has(vendor));
    const createdAt = START + Math.floor(random() * SPAN);
    const updatedAt = createdAt + Math.floor(random() * 90 * 86_400);
    const children = Math.floor(random() * 4);
    if (!held) continue;
    holders.push({
      person,
      index,
      email: shape === 'phone-only' ? null : email,
      phone: shape === 'email-only' ? null : phone,
      createdAt,
      updatedAt,
      children,
    });
  }
  // Vendors number records in creation order.
  return holders.sort((a, b) => a.createdAt - b.createdAt || a.index - b.index);
}

export interface VendorDataOptions {
  /** Ground-truth people (default 250: enough for several pages at every vendor's page size). */
  people?: number;
  seed?: number;
}

export function generateVendorData(options: VendorDataOptions = {}): VendorData {
  const { people: count = 250, seed = 7 } = options;
  const people = generateDataset({ people: count, seed }).people;
  const holders = Object.fromEntries(VENDOR_NAMES.map((vendor) => [vendor, holdersOf(people, seed, vendor)])) as Record<VendorName, VendorPerson[]>;
  return { seed, people, holders };
}

/** A deterministic identifier body from an index: `length` characters of `alphabet`. */
export function idFrom(index: number, salt: number, length: number, alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'): string {
  const random = seededRandom(Math.imul(index + 1, 0x9e3779b1) ^ salt);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(random() * alphabet.length)];
  return out;
}

export const isoSeconds = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
