// What each unified field expects of a source's values, and the transform that reads them, for mapping suggestions.
import { UNIFIED_TARGETS, type UnifiedTarget } from '../config/schema.js';
import type { TransformName } from '../expressions/transform-names.js';
import type { ValueKind } from './value-patterns.js';

/** The fields of one order line item (`mapping.lineItems.each`). */
const LINE_ITEM_FIELDS = ['sku', 'title', 'quantity', 'unitPriceMinor'] as const;

/** A unified shape a source entity can feed, or the line items nested in orders. */
export type SuggestionShape = UnifiedTarget | 'lineItems';

export type ShapeFields<S extends SuggestionShape> = S extends UnifiedTarget ? (typeof UNIFIED_TARGETS)[S][number] : (typeof LINE_ITEM_FIELDS)[number];

export interface TargetSpec {
  kind: ValueKind;
  /** `money` reads integer minor units and `moneyMajor` decimals: which one fits depends on the values sampled. */
  transform?: TransformName | 'money-by-values';
  /** One value per record (emails, IDs): a field repeating a few values across records is someone else's. */
  unique?: boolean;
}

type SpecTable = { [S in SuggestionShape]: Record<ShapeFields<S>, TargetSpec> };

const DATE: TargetSpec = { kind: 'date', transform: 'date' };

const TARGET_SPECS: SpecTable = {
  profile: {
    firstName: { kind: 'namePart' },
    lastName: { kind: 'namePart' },
    name: { kind: 'personName', unique: true },
    email: { kind: 'email', transform: 'email', unique: true },
    phone: { kind: 'phone', transform: 'phone', unique: true },
    line1: { kind: 'street', unique: true },
    city: { kind: 'place' },
    postalCode: { kind: 'postalCode' },
    // The schema's country is an ISO code, upper-cased whatever case the source sends.
    country: { kind: 'countryCode', transform: 'upper' },
    updatedAt: DATE,
  },
  marketing: {
    // MarketingStatus is a GraphQL enum: values are upper-cased to its names.
    status: { kind: 'enum', transform: 'upper' },
    emailConsent: { kind: 'boolean', transform: 'boolean' },
    consentedAt: DATE,
    lists: { kind: 'stringList', transform: 'stringList' },
    updatedAt: DATE,
  },
  orders: {
    id: { kind: 'identifier', unique: true },
    number: { kind: 'reference', unique: true },
    // Order status is a free string in the schema: kept as the source writes it.
    status: { kind: 'enum' },
    placedAt: DATE,
    totalMinor: { kind: 'money', transform: 'money-by-values' },
    currency: { kind: 'currencyCode' },
    lineItems: { kind: 'objectList' },
  },
  tickets: {
    id: { kind: 'identifier', unique: true },
    subject: { kind: 'text' },
    status: { kind: 'enum', transform: 'upper' },
    priority: { kind: 'enum' },
    createdAt: DATE,
    updatedAt: DATE,
  },
  events: {
    id: { kind: 'identifier', unique: true },
    name: { kind: 'enum' },
    occurredAt: DATE,
    deviceId: { kind: 'key' },
    properties: { kind: 'object', transform: 'json' },
  },
  lineItems: {
    sku: { kind: 'key' },
    title: { kind: 'text' },
    quantity: { kind: 'integer', transform: 'integer' },
    unitPriceMinor: { kind: 'money', transform: 'money-by-values' },
  },
};

export function shapeFields(shape: SuggestionShape): string[] {
  return Object.keys(TARGET_SPECS[shape]);
}

export function targetSpec(shape: SuggestionShape, field: string): TargetSpec {
  const spec = (TARGET_SPECS[shape] as Record<string, TargetSpec>)[field];
  if (!spec) throw new Error(`no field "${field}" in ${shape}`);
  return spec;
}
