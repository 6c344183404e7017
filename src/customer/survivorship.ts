// Merges a customer's profile values held by several sources: source priority first, then the most recently updated.
import type { MappedRecord } from '../sources/connector.js';

export interface Address {
  line1: string | null;
  city: string | null;
  postalCode: string | null;
  country: string | null;
}

export interface FieldProvenance {
  field: string;
  source: string;
  entity: string;
  recordId: string;
  fetchedAt: string;
  sourceUpdatedAt: string | null;
}

export interface MergedProfile {
  firstName: string | null;
  lastName: string | null;
  name: string | null;
  email: string | null;
  phone: string | null;
  address: Address | null;
  provenance: FieldProvenance[];
}

type Candidate = { record: MappedRecord; value: unknown };

/** Reads one unified field from a record; null when the record does not hold it. */
const FIELD_READERS: Record<Exclude<keyof MergedProfile, 'provenance'>, (v: Record<string, unknown>) => unknown> = {
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

  constructor(sourcePriority: readonly string[]) {
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
    const merged: MergedProfile = { firstName: null, lastName: null, name: null, email: null, phone: null, address: null, provenance: [] };
    for (const [field, read] of Object.entries(FIELD_READERS) as [keyof typeof FIELD_READERS, (v: Record<string, unknown>) => unknown][]) {
      let winner: Candidate | undefined;
      for (const record of ordered) {
        const value = read(record.values);
        if (value !== null) {
          winner = { record, value };
          break;
        }
      }
      if (!winner) continue;
      (merged as unknown as Record<string, unknown>)[field] = winner.value;
      merged.provenance.push({
        field,
        source: winner.record.source,
        entity: winner.record.entity,
        recordId: winner.record.recordId,
        fetchedAt: winner.record.fetchedAt,
        sourceUpdatedAt: typeof winner.record.values.updatedAt === 'string' ? winner.record.values.updatedAt : null,
      });
    }
    return merged;
  }
}
