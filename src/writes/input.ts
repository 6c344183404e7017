// Checks a write's input before anything is sent, and turns it into the unified values write templates name.
import { badInput } from '../request/errors.js';
import type { ProfileInput } from '../generated/graphql.js';
import { MAX_IDENTIFIER_LENGTH } from '../identity/identifiers.js';
import { normalizeEmail, normalizePhone } from '../sources/normalize.js';
import type { WriteValues } from '../sources/entity-writer.js';
import type { WriteField } from '../expressions/request-template.js';

/** Longest free-text value (a name, an address line) a write sends. */
const MAX_TEXT_LENGTH = 256;
/** Idempotency keys: what a client generates (a UUID, a ULID, a hash), never text it could leak personal data through. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;


/** The schema's field each input field is read through: its @pii permission is the one a write of it needs. */
export const PROFILE_FIELD_OF: Record<WriteField, string> = {
  firstName: 'firstName',
  lastName: 'lastName',
  name: 'name',
  email: 'email',
  phone: 'phone',
  line1: 'address',
  city: 'address',
  postalCode: 'address',
  country: 'address',
  emailConsent: '',
};

function text(value: string, argument: string): string {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed.length > MAX_TEXT_LENGTH) throw badInput(`${argument} must be 1 to ${MAX_TEXT_LENGTH} characters`, argument);
  return trimmed;
}

/** The profile values to write, checked: an email that is not one, a phone number that is not valid, empty input. */
export function profileValues(input: ProfileInput, defaultPhoneRegion: string): WriteValues {
  const values: WriteValues = {};
  if (input.firstName != null) values.firstName = text(input.firstName, 'input.firstName');
  if (input.lastName != null) values.lastName = text(input.lastName, 'input.lastName');
  if (input.name != null) values.name = text(input.name, 'input.name');
  else if (values.firstName !== undefined && values.lastName !== undefined) values.name = `${values.firstName} ${values.lastName}`;
  if (input.email != null) {
    const typed = input.email.trim();
    if (typed.length > MAX_IDENTIFIER_LENGTH.email || normalizeEmail(typed) === null) throw badInput('input.email is not an email address', 'input.email');
    values.email = typed;
  }
  if (input.phone != null) {
    const phone = input.phone.length > MAX_IDENTIFIER_LENGTH.phone ? null : normalizePhone(input.phone, defaultPhoneRegion);
    if (phone === null) throw badInput('input.phone is not a valid phone number', 'input.phone');
    values.phone = phone;
  }
  const address = input.address;
  if (address) {
    if (address.line1 != null) values.line1 = text(address.line1, 'input.address.line1');
    if (address.city != null) values.city = text(address.city, 'input.address.city');
    if (address.postalCode != null) values.postalCode = text(address.postalCode, 'input.address.postalCode');
    if (address.country != null) {
      const country = address.country.trim().toUpperCase();
      if (!/^[A-Z]{2}$/.test(country)) throw badInput('input.address.country must be an ISO 3166-1 alpha-2 code, e.g. "DE"', 'input.address.country');
      values.country = country;
    }
  }
  if (Object.keys(values).length === 0) throw badInput('input changes nothing: give at least one field', 'input');
  return values;
}

export function checkIdempotencyKey(key: string | null | undefined): string | null {
  if (key == null) return null;
  if (!IDEMPOTENCY_KEY.test(key)) throw badInput('idempotencyKey must be 1 to 255 printable ASCII characters without spaces', 'idempotencyKey');
  return key;
}
