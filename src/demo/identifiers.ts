// How the simulated sources themselves compare emails and phones in their search endpoints and keys.
import { hash } from 'node:crypto';

/** The shared "no real address" email some support users carry instead of their own (any case). */
export const PLACEHOLDER_EMAIL = 'noreply@example.com';

export function normalizeEmail(raw: string): string {
  return raw.trim().toLowerCase();
}

/** Digits only, without the US country code, so every punctuation style of one number compares equal. */
export function phoneKey(raw: string): string {
  const digits = raw.replace(/\D/g, '');
  return digits.length === 11 && digits.startsWith('1') ? digits.slice(1) : digits;
}

function md5Hex(text: string): string {
  return hash('md5', text, 'hex');
}

/** The marketing member ID and analytics `email_md5` of an address: md5 of its normalised form. */
export function emailMd5(rawEmail: string): string {
  return md5Hex(normalizeEmail(rawEmail));
}
