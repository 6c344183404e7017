// Named value transforms a source's field mapping may apply, so configs declare conversions instead of coding them.
import type { TransformName } from '../expressions/transform-names.js';
import { normalizeEmail, normalizePhone } from './normalize.js';

export interface TransformContext {
  defaultPhoneRegion: string;
}

/** Thrown when a source sends a value its mapping cannot read, e.g. a word where an amount was mapped. */
export class TransformError extends Error {
  constructor(
    readonly transform: TransformName,
    readonly value: unknown,
  ) {
    super(`cannot read ${JSON.stringify(value)?.slice(0, 40)} as ${transform}`);
    this.name = 'TransformError';
  }
}

type Transform = (value: unknown, context: TransformContext) => unknown;

function text(value: unknown): string | null {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' ? null : trimmed;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function finiteNumber(value: unknown, name: TransformName): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new TransformError(name, value);
  return n;
}

/** `YYYY-MM-DDTHH:MM:SS[.sss]Z`, each field in range: the form most sources send and `toISOString` prints. */
const UTC_ISO = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{3})?Z$/;

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
}

/**
 * The text's `toISOString` form without building a Date, or null when it takes the general path. Most dates arrive
 * in this form, and parsing then printing them was a visible share of mapping a page of orders.
 */
function canonicalUtc(text: string): string | null {
  const match = UTC_ISO.exec(text);
  if (!match) return null;
  // Date.parse rolls 31 April over into 1 May; the general path keeps that behaviour.
  if (Number(match[3]) > daysInMonth(Number(match[1]), Number(match[2]))) return null;
  return match[4] === undefined ? `${text.slice(0, 19)}.000Z` : text;
}

/**
 * Whether `text` is already what `toISOString` prints for it (`YYYY-MM-DDTHH:MM:SS.sssZ`, a real calendar day): the
 * DateTime scalar then sends it as it is instead of building a Date to print the same text (resolvers/scalars.ts).
 */
export function isCanonicalUtc(text: string): boolean {
  return text.length === 24 && canonicalUtc(text) === text;
}

const transforms: Record<TransformName, Transform> = {
  string: text,
  // An unreadable email or phone is a fact about the source's data, not a broken response: it maps to null.
  email: (v) => normalizeEmail(v),
  phone: (v, ctx) => normalizePhone(v, ctx.defaultPhoneRegion),
  date: (v) => {
    const canonical = typeof v === 'string' ? canonicalUtc(v) : null;
    if (canonical !== null) return canonical;
    // Epoch numbers below 1e11 are seconds (1e11 s is the year 5138), above are milliseconds.
    const ms = typeof v === 'number' ? (v < 1e11 ? v * 1000 : v) : typeof v === 'string' ? Date.parse(v) : NaN;
    if (!Number.isFinite(ms)) throw new TransformError('date', v);
    return new Date(ms).toISOString();
  },
  money: (v) => {
    const n = finiteNumber(v, 'money');
    if (!Number.isInteger(n)) throw new TransformError('money', v);
    return n;
  },
  // Decimal major units ("12.50") to integer minor units (1250), rounding away float noise.
  moneyMajor: (v) => Math.round(finiteNumber(v, 'moneyMajor') * 100),
  integer: (v) => {
    const n = finiteNumber(v, 'integer');
    if (!Number.isInteger(n)) throw new TransformError('integer', v);
    return n;
  },
  boolean: (v) => {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 1) return true;
    if (v === 'false' || v === 0) return false;
    throw new TransformError('boolean', v);
  },
  upper: (v) => text(v)?.toUpperCase() ?? null,
  lower: (v) => text(v)?.toLowerCase() ?? null,
  // Kept as the source sent it, for a JSON field (AnalyticsEvent.properties).
  json: (v) => v,
  stringList: (v) => {
    if (!Array.isArray(v)) throw new TransformError('stringList', v);
    return v.map(text).filter((s): s is string => s !== null);
  },
};

/**
 * The transform with its context bound, for a compiled mapping to call on every record: one closure per mapped
 * field keeps each call site monomorphic instead of dispatching through the table by name.
 */
export function compileTransform(name: TransformName, context: TransformContext): (value: unknown) => unknown {
  const transform = transforms[name];
  // Absent stays absent: every transform maps null/undefined to null rather than guessing a value.
  return (value) => (value === null || value === undefined ? null : transform(value, context));
}

export function applyTransform(name: TransformName, value: unknown, context: TransformContext): unknown {
  if (value === null || value === undefined) return null;
  return transforms[name](value, context);
}
