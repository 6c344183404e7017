// Normalisers that turn a source's identifier as typed by a person into the form links are keyed by.
import { hash } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { LRUCache } from 'lru-cache';

export function normalizeEmail(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const email = raw.trim().toLowerCase();
  // A deliberately loose check: one "@" with something on both sides. Sources hold what people typed.
  return /^[^\s@]+@[^\s@]+$/.test(email) ? email : null;
}

/**
 * Parsing with full metadata costs ~20 µs a number, and the same phones come back on every request that maps
 * their records; results (a pure function of text and region) are remembered, boundedly.
 */
const parsedPhones = new LRUCache<string, string | false>({ max: 50_000 });

/** E.164 (`+14155550134`), or null when the input is not a valid number in any reading. */
export function normalizePhone(raw: unknown, defaultRegion: string): string | null {
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (text === '') return null;
  const key = `${defaultRegion}\u0000${text}`;
  const known = parsedPhones.get(key);
  if (known !== undefined) return known === false ? null : known;
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: defaultRegion as CountryCode });
  const e164 = parsed?.isValid() ? parsed.number : null;
  parsedPhones.set(key, e164 ?? false);
  return e164;
}

/** The hash marketing and analytics tools key people by: MD5 of the normalised email (one-shot `hash`: a sync computes one per email). */
export function emailMd5(email: string): string {
  return hash('md5', email, 'hex');
}

export function normalizeMd5(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const text = raw.trim().toLowerCase();
  return /^[0-9a-f]{32}$/.test(text) ? text : null;
}
