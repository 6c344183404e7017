// Reads a sample of raw records into per-path value profiles and scores how well a path's values fit a kind of value.
import { getCountries, isValidPhoneNumber, type CountryCode } from 'libphonenumber-js/max';

/** What a unified field's values look like. */
export type ValueKind =
  | 'email'
  | 'phone'
  | 'personName'
  | 'namePart'
  | 'street'
  | 'place'
  | 'postalCode'
  | 'countryCode'
  | 'currencyCode'
  | 'date'
  | 'enum'
  | 'boolean'
  | 'stringList'
  | 'objectList'
  | 'object'
  | 'identifier'
  | 'key'
  | 'reference'
  | 'money'
  | 'integer'
  | 'text';

/** The values one dotted path holds across a sample. */
export interface FieldProfile {
  path: string;
  /** Non-null values, one per record that has one. */
  values: unknown[];
  /** Share of sampled records with a non-null value here. */
  presence: number;
  /** Distinct values over non-null values (1 when every record has its own). */
  distinctRatio: number;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * One profile per path in the sample: every leaf, every nested object (`properties` may be mapped whole)
 * and every array (lists and line items are mapped whole; their items are not paths of the record).
 */
export function profileFields(records: readonly unknown[]): FieldProfile[] {
  const byPath = new Map<string, unknown[]>();
  const visit = (value: unknown, path: string) => {
    if (path !== '') {
      let values = byPath.get(path);
      if (!values) byPath.set(path, (values = []));
      // An empty string is how many APIs write "none": it counts as absent, not as a value that fits nothing.
      if (value !== null && value !== undefined && !(typeof value === 'string' && value.trim() === '')) values.push(value);
    }
    if (isPlainObject(value)) {
      for (const [key, child] of Object.entries(value)) visit(child, path === '' ? key : `${path}.${key}`);
    }
  };
  for (const record of records) visit(record, '');
  const total = Math.max(1, records.length);
  return [...byPath].map(([path, values]) => ({
    path,
    values,
    presence: values.length / total,
    distinctRatio: values.length === 0 ? 0 : new Set(values.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v)))).size / values.length,
  }));
}

/** Every item of the arrays at `path`, across the sample: the line items of all sampled orders. */
export function itemsAtPath(records: readonly unknown[], path: string): unknown[] {
  const keys = path.split('.');
  return records.flatMap((record) => {
    let current: unknown = record;
    for (const key of keys) current = isPlainObject(current) ? current[key] : undefined;
    return Array.isArray(current) ? current : [];
  });
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const NUMERIC = /^-?\d+(\.\d+)?$/;
const WORDS = /^[\p{L}][\p{L}'’.\- ]*$/u;
const COUNTRY_CODES = new Set<string>(getCountries());
const CURRENCY_CODES = new Set<string>(Intl.supportedValuesOf('currency'));
const EPOCH_SECONDS = [946_684_800, 4_102_444_800] as const; // 2000 to 2100
const EPOCH_MILLIS = [EPOCH_SECONDS[0] * 1000, EPOCH_SECONDS[1] * 1000] as const;

export function isEmailLike(value: unknown): boolean {
  return typeof value === 'string' && EMAIL.test(value.trim());
}

/** ISO 8601 text, or an epoch number (seconds or milliseconds) between 2000 and 2100. */
function isDateLike(value: unknown): boolean {
  if (typeof value === 'string') return ISO_DATE.test(value.trim()) && Number.isFinite(Date.parse(value));
  if (typeof value === 'number') return (value >= EPOCH_SECONDS[0] && value <= EPOCH_SECONDS[1]) || (value >= EPOCH_MILLIS[0] && value <= EPOCH_MILLIS[1]);
  return false;
}

/** A number as people write phone numbers (text with 7 to 15 digits), valid for the default region or in international form. */
export function isPhoneLike(value: unknown, region: string): boolean {
  if (typeof value !== 'string' || isEmailLike(value) || isDateLike(value)) return false;
  const digits = value.replace(/\D/g, '').length;
  return digits >= 7 && digits <= 15 && isValidPhoneNumber(value, region as CountryCode);
}

export function isHex32(value: unknown): boolean {
  return typeof value === 'string' && /^[0-9a-f]{32}$/i.test(value.trim());
}

function words(value: string): number {
  return value.trim().split(/\s+/).length;
}

function isCode(value: unknown): value is string | number {
  return (typeof value === 'string' && value.trim() !== '' && !/\s/.test(value.trim()) && !isEmailLike(value) && !isDateLike(value)) || Number.isInteger(value);
}

type Predicate = (value: unknown) => boolean;

/** Per kind: what one value must look like, and how the kind is named in a suggestion's comment. */
function valuePredicate(kind: ValueKind, region: string): Predicate {
  switch (kind) {
    case 'email':
      return isEmailLike;
    case 'phone':
      return (v) => isPhoneLike(v, region);
    case 'date':
      return isDateLike;
    case 'personName':
      return (v) => typeof v === 'string' && WORDS.test(v.trim()) && words(v) >= 2 && words(v) <= 5;
    case 'namePart':
      return (v) => typeof v === 'string' && WORDS.test(v.trim()) && words(v) <= 2;
    case 'street':
      return (v) => typeof v === 'string' && /\d/.test(v) && /\p{L}{2,}/u.test(v) && words(v) >= 2 && !isEmailLike(v) && !isDateLike(v);
    case 'place':
      return (v) => typeof v === 'string' && WORDS.test(v.trim()) && v.trim().length >= 2 && words(v) <= 4;
    case 'postalCode':
      return (v) => {
        const text = typeof v === 'number' && Number.isInteger(v) ? String(v) : typeof v === 'string' ? v.trim() : '';
        return /^[A-Za-z0-9][A-Za-z0-9 -]{1,8}[A-Za-z0-9]$/.test(text) && (text.match(/\d/g)?.length ?? 0) >= 2;
      };
    case 'countryCode':
      return (v) => typeof v === 'string' && COUNTRY_CODES.has(v.trim().toUpperCase());
    case 'currencyCode':
      return (v) => typeof v === 'string' && v.trim().length === 3 && CURRENCY_CODES.has(v.trim().toUpperCase());
    case 'enum':
      return (v) => typeof v === 'string' && v.trim() !== '' && v.length <= 40 && !isEmailLike(v) && !isDateLike(v) && words(v) <= 3;
    case 'boolean':
      return (v) => typeof v === 'boolean' || v === 'true' || v === 'false';
    case 'stringList':
      return (v) => Array.isArray(v) && v.every((item) => typeof item === 'string');
    case 'objectList':
      return (v) => Array.isArray(v) && v.every(isPlainObject);
    case 'object':
      return isPlainObject;
    case 'identifier':
    case 'key':
      return isCode;
    case 'reference':
      return (v) => (typeof v === 'string' && v.trim().length <= 24 && /\d/.test(v) && !isEmailLike(v) && !isDateLike(v)) || Number.isInteger(v);
    case 'money':
      return (v) => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && NUMERIC.test(v.trim()));
    case 'integer':
      return (v) => Number.isInteger(v) || (typeof v === 'string' && /^-?\d+$/.test(v.trim()));
    case 'text':
      return (v) => typeof v === 'string' && words(v) >= 2 && v.trim().length >= 6 && !isEmailLike(v) && !isDateLike(v);
  }
}

const KIND_LABELS: Record<ValueKind, string> = {
  email: 'emails',
  phone: 'phone numbers',
  personName: 'full names',
  namePart: 'single names',
  street: 'street lines',
  place: 'place names',
  postalCode: 'postal codes',
  countryCode: 'ISO country codes',
  currencyCode: 'ISO currency codes',
  date: 'dates',
  enum: 'short labels',
  boolean: 'booleans',
  stringList: 'lists of strings',
  objectList: 'lists of objects',
  object: 'objects',
  identifier: 'IDs',
  key: 'codes',
  reference: 'reference numbers',
  money: 'amounts',
  integer: 'integers',
  text: 'free text',
};

export interface ValueFit {
  /** 0 (values cannot be this) to 1. */
  score: number;
  reason: string;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/** Labels repeat across records; below 5 values a sample cannot tell a label from a one-off. */
function labelCardinality(profile: FieldProfile): number {
  const n = profile.values.length;
  if (n < 5) return 0.7;
  const distinct = Math.round(profile.distinctRatio * n);
  if (distinct <= Math.min(20, Math.max(2, n * 0.5))) return 1;
  return distinct <= n * 0.8 ? 0.4 : 0.1;
}

/**
 * How well a path's sampled values fit `kind` (the share of values that look the part, with a cardinality
 * check for labels and lists); a path with no values at all gets a small neutral score, since only its
 * name can speak for it.
 */
export function valueFit(kind: ValueKind, profile: FieldProfile, region: string): ValueFit {
  const { values } = profile;
  if (values.length === 0) return { score: 0.3, reason: 'no values in the sample' };
  const matches = valuePredicate(kind, region);
  const share = values.filter(matches).length / values.length;
  if (share === 0) return { score: 0, reason: `no ${KIND_LABELS[kind]}` };
  let score = share;
  let reason = `${percent(share)} ${KIND_LABELS[kind]}`;
  if (kind === 'enum') {
    const distinct = Math.round(profile.distinctRatio * values.length);
    score *= labelCardinality(profile);
    reason += `, ${distinct} distinct`;
    // A label that never changes (`type: "track"` on every event) tells records apart no better than nothing.
    if (distinct === 1 && values.length >= 5) score *= 0.6;
  }
  if (kind === 'namePart' && values.filter((v) => typeof v === 'string' && words(v) === 1).length / values.length < 0.6) score *= 0.5;
  if ((kind === 'stringList' || kind === 'objectList') && !values.some((v) => Array.isArray(v) && v.length > 0)) {
    score *= 0.5;
    reason += ' (all empty)';
  }
  return { score, reason };
}

/** 1 when values are mostly distinct; lower as a few values repeat across records (a sales rep's email on every contact). */
export function uniquenessFactor(profile: FieldProfile): number {
  if (profile.values.length < 5 || profile.distinctRatio >= 0.5) return 1;
  return profile.distinctRatio / 0.5;
}

/** For amounts: integers are minor units (cents), decimals are major units. */
export function looksLikeMajorUnits(profile: FieldProfile): boolean {
  return profile.values.some((v) => (typeof v === 'number' && !Number.isInteger(v)) || (typeof v === 'string' && /\.\d/.test(v)));
}
