// Normalisers that turn a source's identifier as typed by a person into the form links are keyed by.
import { createHash } from 'node:crypto';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export function normalizeEmail(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const email = raw.trim().toLowerCase();
  // A deliberately loose check: one "@" with something on both sides. Sources hold what people typed.
  return /^[^\s@]+@[^\s@]+$/.test(email) ? email : null;
}

/** E.164 (`+14155550134`), or null when the input is not a valid number in any reading. */
export function normalizePhone(raw: unknown, defaultRegion: string): string | null {
  if (typeof raw !== 'string' && typeof raw !== 'number') return null;
  const text = String(raw).trim();
  if (text === '') return null;
  const parsed = parsePhoneNumberFromString(text, { defaultCountry: defaultRegion as CountryCode });
  return parsed?.isValid() ? parsed.number : null;
}

/** The hash marketing and analytics tools key people by: MD5 of the normalised email. */
export function emailMd5(email: string): string {
  return createHash('md5').update(email).digest('hex');
}

export function normalizeMd5(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const hash = raw.trim().toLowerCase();
  return /^[0-9a-f]{32}$/.test(hash) ? hash : null;
}
