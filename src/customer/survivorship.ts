// Merges a customer's profile values held by several sources: source priority first, then the most recently updated.
import type { MappedRecord } from '../sources/connector.js';

interface Address {
  line1: string | null;
  city: string | null;
  postalCode: string | null;
  country: string | null;
}

interface FieldProvenance {
  field: string;
  source: string;
  entity: string;
  recordId: string;
  fetchedAt: string;
  sourceUpdatedAt: string | null;
}

/** A profile value an extension adds (Profile.lifecycleStage), with the record it survived from. */
interface ExtensionValue {
  value: unknown;
  origin: MappedRecord;
}

export interface MergedProfile {
  firstName: string | null;
  lastName: string | null;
  name: string | null;
  email: string | null;
  phone: string | null;
  address: Address | null;
  provenance: FieldProvenance[];
  /** Fields extension SDL adds to Profile, by name; absent when no linked record holds one. */
  extensionValues: Record<string, ExtensionValue>;
}

type Candidate = { record: MappedRecord; value: unknown };

/** Reads one unified field from a record; null when the record does not hold it. */
const FIELD_READERS: Record<Exclude<keyof MergedProfile, 'provenance' | 'extensionValues'>, (v: Record<string, unknown>) => unknown> = {
  firstName: (v) => v.firstName ?? null,
  lastName: (v) => v.lastName ?? null,
  // Sources that hold only first and last name still have a name.
  name: (v) => v.name ?? ([v.firstName, v.lastName].filter((part) => typeof part === 'string' && part !== '').join(' ') || null),
  email: (v) => v.email ?? null,
  phone: (v) => v.phone ?? null,
  // An address is taken whole from one record: mixing one source's street with another's city invents a place.
  address: (v) =>
    v.line1 == null && v.city == null && v.postalCode == null && v.country == null
      ? null
      : { line1: v.line1 ?? null, city: v.city ?? null, postalCode: v.postalCode ?? null, country: v.country ?? null },
};

export class SurvivorshipRule {
  private readonly rank: ReadonlyMap<string, number>;

  constructor(
    sourcePriority: readonly string[],
    /** Profile fields extensions add: merged by the same rule as the core ones, each with its provenance. */
    private readonly extensionFields: readonly string[] = [],
  ) {
    this.rank = new Map(sourcePriority.map((source, i) => [source, i]));
  }

  /** Negative when `a` should win over `b`. */
  private compare(a: MappedRecord, b: MappedRecord): number {
    const byPriority = (this.rank.get(a.source) ?? Infinity) - (this.rank.get(b.source) ?? Infinity);
    if (byPriority !== 0 && !Number.isNaN(byPriority)) return byPriority;
    const aUpdated = typeof a.values.updatedAt === 'string' ? a.values.updatedAt : '';
    const bUpdated = typeof b.values.updatedAt === 'string' ? b.values.updatedAt : '';
    if (aUpdated !== bUpdated) return aUpdated > bUpdated ? -1 : 1;
    // Last resort, so the same inputs always give the same survivor.
    const aKey = `${a.source}:${a.entity}:${a.recordId}`;
    const bKey = `${b.source}:${b.entity}:${b.recordId}`;
    return aKey < bKey ? -1 : aKey > bKey ? 1 : 0;
  }

  merge(records: readonly MappedRecord[]): MergedProfile {
    const ordered = [...records].sort((a, b) => this.compare(a, b));
    const merged: MergedProfile = { firstName: null, lastName: null, name: null, email: null, phone: null, address: null, provenance: [], extensionValues: {} };
    for (const [field, read] of Object.entries(FIELD_READERS) as [keyof typeof FIELD_READERS, (v: Record<string, unknown>) => unknown][]) {
      const winner = firstHolding(ordered, read);
      if (!winner) continue;
      (merged as unknown as Record<string, unknown>)[field] = winner.value;
      merged.provenance.push(provenanceOf(field, winner.record));
    }
    for (const field of this.extensionFields) {
      const winner = firstHolding(ordered, (v) => v[field] ?? null);
      if (!winner) continue;
      merged.extensionValues[field] = { value: winner.value, origin: winner.record };
      merged.provenance.push(provenanceOf(field, winner.record));
    }
    return merged;
  }
}

/** The first record (in survivorship order) holding a value for the field `read` reads. */
function firstHolding(ordered: readonly MappedRecord[], read: (v: Record<string, unknown>) => unknown): Candidate | undefined {
  for (const record of ordered) {
    const value = read(record.values);
    if (value !== null) return { record, value };
  }
  return undefined;
}

function provenanceOf(field: string, record: MappedRecord): FieldProvenance {
  return {
    field,
    source: record.source,
    entity: record.entity,
    recordId: record.recordId,
    fetchedAt: record.fetchedAt,
    sourceUpdatedAt: typeof record.values.updatedAt === 'string' ? record.values.updatedAt : null,
  };
}
