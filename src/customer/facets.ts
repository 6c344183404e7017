// Loads a customer's facets (profile, marketing, orders, tickets, events, extension lists) from the sources its links point at.
import type { FacetTarget, UnifiedTarget } from '../config/schema.js';
import type { MappedRecord } from '../sources/connector.js';
import { SourceError } from '../sources/errors.js';
import type { RequestLoaders } from '../loaders/request-loaders.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { CustomerRef } from './model.js';
import { providersFor } from './profile-selection.js';
import type { MergedProfile, SurvivorshipRule } from './survivorship.js';

/**
 * What loading a facet reads of a request: which entities provide a target, the request's loaders, the survivorship
 * rule. The request context has all three; naming only these keeps the customer layer below the request's.
 */
export interface FacetContext {
  registry: SourceRegistry;
  loaders: RequestLoaders;
  survivorship: SurvivorshipRule;
}

export interface Settled<T> {
  values: T[];
  /** Failures of individual sources; the caller decides whether they are fatal or partial. */
  errors: Error[];
}

/**
 * Descending order of two mapped dates. The date transform writes ISO-8601 UTC strings, which order by code unit;
 * `localeCompare` would give the same order through the collator at many times the cost. Absent dates sort last.
 */
function newestFirstBy(a: unknown, b: unknown): number {
  const left = a === null || a === undefined ? '' : String(a);
  const right = b === null || b === undefined ? '' : String(b);
  return left < right ? 1 : left > right ? -1 : 0;
}

/** Every linked record of `providers` (by default every entity that provides `target`), read through the per-request loaders. */
async function linkedRecords(context: FacetContext, customer: CustomerRef, target: UnifiedTarget, providers = context.registry.recordProviders(target)): Promise<Settled<MappedRecord>> {
  const loads: Promise<(MappedRecord | null | Error)[]>[] = [];
  for (const { source, entity } of providers) {
    const ids = customer.links.filter((l) => l.source === source && l.entity === entity).map((l) => l.recordId);
    if (ids.length > 0) loads.push(context.loaders.records(source, entity).loadMany(ids));
  }
  const results = (await Promise.all(loads)).flat();
  return {
    values: results.filter((r): r is MappedRecord => r !== null && !(r instanceof Error)),
    errors: results.filter((r): r is Error => r instanceof Error),
  };
}

/** Child items of every linked parent record of the entities that provide `target`. */
async function linkedChildren(context: FacetContext, customer: CustomerRef, target: FacetTarget): Promise<Settled<MappedRecord>> {
  const loads: Promise<(MappedRecord[] | Error)[]>[] = [];
  for (const { source, entity, parentEntity } of context.registry.childProviders(target)) {
    const parentIds = customer.links.filter((l) => l.source === source && l.entity === parentEntity).map((l) => l.recordId);
    if (parentIds.length > 0) loads.push(context.loaders.children(source, entity).loadMany(parentIds));
  }
  const results = (await Promise.all(loads)).flat();
  return {
    values: results.filter((r): r is MappedRecord[] => !(r instanceof Error)).flat(),
    errors: results.filter((r): r is Error => r instanceof Error),
  };
}

/**
 * The merged profile, and the records it was merged from (whose unreadable values the caller reports). `selected`
 * (profile-selection.ts) names the mapped values the query reads: sources that map none of them are not asked.
 */
export async function loadProfile(context: FacetContext, customer: CustomerRef, selected: ReadonlySet<string> | null = null): Promise<Settled<MergedProfile> & { records: MappedRecord[] }> {
  const { values, errors } = await linkedRecords(context, customer, 'profile', providersFor(context.registry.recordProviders('profile'), selected));
  return { values: [context.survivorship.merge(values)], errors, records: values };
}

/** The customer's marketing record: the most recently changed one when several members are linked. */
export async function loadMarketing(context: FacetContext, customer: CustomerRef): Promise<Settled<MappedRecord>> {
  const { values, errors } = await linkedRecords(context, customer, 'marketing');
  const newestFirst = values.sort((a, b) => newestFirstBy(a.values.updatedAt, b.values.updatedAt));
  return { values: newestFirst.slice(0, 1), errors };
}

/** Items sorted newest first by a date field, at most `first`; a failing source fails the list with its own error. */
export async function loadNewestChildren(context: FacetContext, customer: CustomerRef, target: UnifiedTarget, dateField: string, first: number, keep: (r: MappedRecord) => boolean = () => true): Promise<MappedRecord[]> {
  return loadChildList(context, customer, target, { field: dateField, direction: 'desc' }, first, keep);
}

/** How a child list is ordered before `first` applies: by a mapped field, or (null) as the sources sent it. */
export type ChildOrder = { field: string; direction: 'asc' | 'desc' } | null;

/**
 * The children of every linked parent feeding `target`, in `order`, at most `first`; a failing source fails the
 * list with its own error. Extension lists (Customer.subscriptions) are read here exactly as orders and tickets are.
 */
export async function loadChildList(context: FacetContext, customer: CustomerRef, target: FacetTarget, order: ChildOrder, first: number, keep: (r: MappedRecord) => boolean = () => true): Promise<MappedRecord[]> {
  const { values, errors } = await linkedChildren(context, customer, target);
  if (errors.length > 0) throw errors.find((e) => e instanceof SourceError) ?? errors[0];
  const kept = values.filter(keep);
  if (order) {
    const sign = order.direction === 'asc' ? 1 : -1;
    const { field } = order;
    kept.sort((a, b) => orderOf(a.values[field], b.values[field], sign));
  }
  return kept.slice(0, first);
}

/** Numbers by value, text (ISO dates included) by code unit, `sign` 1 ascending or -1 descending; absent values last either way. */
function orderOf(a: unknown, b: unknown, sign: 1 | -1): number {
  const aAbsent = a === null || a === undefined;
  const bAbsent = b === null || b === undefined;
  if (aAbsent || bAbsent) return aAbsent === bAbsent ? 0 : aAbsent ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return sign * (a - b);
  const left = String(a);
  const right = String(b);
  return sign * (left < right ? -1 : left > right ? 1 : 0);
}
