// Groups source records into customers by shared normalised identifiers (union-find), deterministically.
import { createHash } from 'node:crypto';
import type { Identifier, Link, LinkRule, LinkSnapshot, RecordKey } from './model.js';
import { recordKeyString } from './model.js';
import type { Assignment } from './store.js';

/** A record as the linker sees it: its key, the identifiers it carries, and the records it names by ID. */
export interface LinkableRecord extends RecordKey {
  identifiers: { kind: Identifier['kind']; value: string }[];
  /** Record keys (`recordKeyString`) of other systems' records this one refers to, e.g. a CRM ID in shop metadata. */
  references: string[];
}

const RULE_OF_KIND: Record<Identifier['kind'], LinkRule> = { email: 'EMAIL', phone: 'PHONE', email_md5: 'EMAIL_MD5' };

class UnionFind {
  private readonly parent: number[];
  constructor(size: number) {
    this.parent = Array.from({ length: size }, (_, i) => i);
  }
  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root]!;
    // Path compression keeps 100k-record syncs near-linear.
    while (this.parent[i] !== root) {
      const next = this.parent[i]!;
      this.parent[i] = root;
      i = next;
    }
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller index wins so the result does not depend on the order of unions.
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** A new customer's ID, derived from its first record so that rebuilding unchanged data gives the same ID. */
export function deriveCustomerId(firstRecordKey: string): string {
  return `cus_${createHash('sha256').update(firstRecordKey).digest('hex').slice(0, 16)}`;
}

export function linkRecords(records: readonly LinkableRecord[], previous: ReadonlyMap<string, Assignment> = new Map(), now = new Date().toISOString()): LinkSnapshot {
  // Sorting makes evidence and IDs independent of the order sources were read in.
  const sorted = [...records].map((r) => ({ record: r, key: recordKeyString(r) })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const indexOfKey = new Map(sorted.map((entry, i) => [entry.key, i]));
  const sets = new UnionFind(sorted.length);
  const firstHolder = new Map<string, number>();
  const evidence: { rule: LinkRule; value: string | null }[] = sorted.map(() => ({ rule: 'SEED', value: null }));

  sorted.forEach(({ record }, i) => {
    for (const identifier of record.identifiers) {
      const token = `${identifier.kind}\u0000${identifier.value}`;
      const holder = firstHolder.get(token);
      if (holder === undefined) {
        firstHolder.set(token, i);
        continue;
      }
      if (evidence[i]!.rule === 'SEED') evidence[i] = { rule: RULE_OF_KIND[identifier.kind], value: identifier.value };
      sets.union(holder, i);
    }
    for (const reference of record.references) {
      const target = indexOfKey.get(reference);
      if (target === undefined) continue;
      if (evidence[i]!.rule === 'SEED') evidence[i] = { rule: 'EXTERNAL_ID', value: reference };
      sets.union(target, i);
    }
  });

  // Components in order of their first record; each keeps the ID its first previously-linked member had.
  const members = new Map<number, number[]>();
  sorted.forEach((_, i) => {
    const root = sets.find(i);
    const list = members.get(root);
    if (list) list.push(i);
    else members.set(root, [i]);
  });
  const customerOfIndex = new Array<string>(sorted.length);
  const claimed = new Set<string>();
  for (const [root, indexes] of members) {
    let customerId: string | undefined;
    for (const i of indexes) {
      const before = previous.get(sorted[i]!.key)?.customerId;
      // A customer split in two keeps its ID on one side only; the other side gets a fresh one.
      if (before && !claimed.has(before)) {
        customerId = before;
        break;
      }
    }
    customerId ??= deriveCustomerId(sorted[root]!.key);
    claimed.add(customerId);
    for (const i of indexes) customerOfIndex[i] = customerId;
  }

  const links: Link[] = sorted.map(({ record, key }, i) => {
    const customerId = customerOfIndex[i]!;
    const before = previous.get(key);
    return {
      source: record.source,
      entity: record.entity,
      recordId: record.recordId,
      customerId,
      rule: evidence[i]!.rule,
      evidence: evidence[i]!.value,
      linkedAt: before?.customerId === customerId ? before.linkedAt : now,
    };
  });
  const identifiers = sorted.flatMap(({ record }, i) =>
    record.identifiers.map((identifier) => ({ ...identifier, source: record.source, entity: record.entity, recordId: record.recordId, customerId: customerOfIndex[i]! })),
  );
  return { links, identifiers };
}
