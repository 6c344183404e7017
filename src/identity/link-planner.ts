// Decides, for incoming source records, which customer each belongs to: joins, merges and refused merges (pure).
import { createHash } from 'node:crypto';
import type { IdentifierKind, IdentifierToken, Link, LinkRule, RecordKey } from './model.js';
import { RULE_OF_KIND, recordKeyString, tokenString } from './model.js';

/** A source record with every identifier token it carries, its own `ref` token included. */
export interface IncomingRecord extends RecordKey {
  tokens: IdentifierToken[];
}

export interface GraphRecord {
  link: Link;
  tokens: IdentifierToken[];
}

/** A customer as loaded for linking: every record and the tokens each carries. */
export interface GraphCustomer {
  id: string;
  createdAt: string;
  records: Map<string, GraphRecord>;
}

/** The part of the link table a batch of records can touch. */
export interface LinkGraph {
  customers: Map<string, GraphCustomer>;
  /** Customer IDs (live or merged away) that already exist, so a new customer never reuses one. */
  takenIds: Set<string>;
  /** Record keys forgotten on request: they must not be linked again until their source deletes them. */
  suppressed: Set<string>;
}

export interface MatchPolicy {
  /** At most this many distinct values of a kind per customer (e.g. 5 emails). */
  caps: Partial<Record<IdentifierKind, number>>;
  /** `source.entity` pairs a customer may hold at most one record of (a CRM contact is one person). */
  uniqueEntities: ReadonlySet<string>;
}

export type ConflictReason = 'CAP_EXCEEDED' | 'UNIQUE_IDENTIFIER';

/** A merge the policy refused, kept for a person to review. */
export interface Conflict {
  reason: ConflictReason;
  detail: string;
  token: IdentifierToken;
  record: RecordKey;
  customerId: string | null;
  otherCustomerId: string;
  detectedAt: string;
}

export interface LinkChanges {
  /** Customers whose records changed, in full. */
  upserted: GraphCustomer[];
  /** Customers that no longer exist: merged into another, or left with no records. */
  removed: { customerId: string; mergedInto: string | null }[];
  conflicts: Conflict[];
  /** Forgotten records their source has now deleted: no longer need suppressing. */
  released: RecordKey[];
}

/** A new customer's ID, derived from its first record so rebuilding the same data gives the same ID. */
export function deriveCustomerId(recordKey: string, attempt = 0): string {
  const seed = attempt === 0 ? recordKey : `${recordKey}#${attempt}`;
  return `cus_${createHash('sha256').update(seed).digest('hex').slice(0, 16)}`;
}

const sameTokens = (a: readonly IdentifierToken[], b: readonly IdentifierToken[]) =>
  a.length === b.length && a.every((t, i) => t.kind === b[i]!.kind && t.value === b[i]!.value);

/** Working state over a loaded graph: indexes kept in step with every join and merge. */
class Planner {
  private readonly customerOfRecord = new Map<string, GraphCustomer>();
  private readonly holders = new Map<string, Set<GraphCustomer>>();
  private readonly dirty = new Set<GraphCustomer>();
  private readonly removed = new Map<string, string | null>();
  readonly conflicts: Conflict[] = [];
  private readonly released: RecordKey[] = [];

  constructor(
    private readonly graph: LinkGraph,
    private readonly policy: MatchPolicy,
    private readonly now: string,
  ) {
    for (const customer of graph.customers.values()) {
      for (const [key, record] of customer.records) {
        this.customerOfRecord.set(key, customer);
        this.index(customer, record.tokens);
      }
    }
  }

  private index(customer: GraphCustomer, tokens: readonly IdentifierToken[]): void {
    for (const token of tokens) {
      const key = tokenString(token);
      let set = this.holders.get(key);
      if (!set) this.holders.set(key, (set = new Set()));
      set.add(customer);
    }
  }

  private unindex(customer: GraphCustomer, tokens: readonly IdentifierToken[]): void {
    for (const token of tokens) this.holders.get(tokenString(token))?.delete(customer);
  }

  /** Older first; a customer being created in this batch is younger than every stored one. */
  private static older(a: GraphCustomer, b: GraphCustomer): number {
    return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  }

  private refusal(records: Iterable<GraphRecord>): { reason: ConflictReason; detail: string } | null {
    const distinct = new Map<IdentifierKind, Set<string>>();
    const uniqueHeld = new Map<string, Set<string>>();
    for (const record of records) {
      const entity = `${record.link.source}.${record.link.entity}`;
      if (this.policy.uniqueEntities.has(entity)) {
        let ids = uniqueHeld.get(entity);
        if (!ids) uniqueHeld.set(entity, (ids = new Set()));
        ids.add(record.link.recordId);
        if (ids.size > 1) return { reason: 'UNIQUE_IDENTIFIER', detail: `would hold two ${entity} records (${[...ids].join(', ')})` };
      }
      for (const token of record.tokens) {
        const cap = this.policy.caps[token.kind];
        if (cap === undefined) continue;
        let values = distinct.get(token.kind);
        if (!values) distinct.set(token.kind, (values = new Set()));
        values.add(token.value);
        if (values.size > cap) return { reason: 'CAP_EXCEEDED', detail: `would hold more than ${cap} ${token.kind} values` };
      }
    }
    return null;
  }

  private sharedToken(a: Iterable<GraphRecord>, b: Iterable<GraphRecord>): IdentifierToken | null {
    const inA = new Set<string>();
    for (const record of a) for (const token of record.tokens) inA.add(tokenString(token));
    for (const record of b) for (const token of record.tokens) if (inA.has(tokenString(token))) return token;
    return null;
  }

  private newCustomerId(recordKey: string): string {
    for (let attempt = 0; ; attempt += 1) {
      const id = deriveCustomerId(recordKey, attempt);
      if (!this.graph.takenIds.has(id) && !this.graph.customers.has(id)) return id;
    }
  }

  /** Moves every record of `from` into `into`; `from` becomes an alias of `into`. */
  private mergeInto(into: GraphCustomer, from: GraphCustomer): void {
    for (const [key, record] of from.records) {
      record.link = { ...record.link, customerId: into.id };
      into.records.set(key, record);
      this.customerOfRecord.set(key, into);
      this.unindex(from, record.tokens);
      this.index(into, record.tokens);
    }
    from.records.clear();
    this.graph.customers.delete(from.id);
    this.dirty.delete(from);
    this.removed.set(from.id, into.id);
    // Aliases of `from` now point at `into`: the store flattens chains when it writes this.
    this.dirty.add(into);
  }

  upsert(incoming: IncomingRecord): void {
    const key = recordKeyString(incoming);
    if (this.graph.suppressed.has(key)) return;
    let group = this.customerOfRecord.get(key) ?? null;
    if (group) {
      const existing = group.records.get(key)!;
      // Unchanged records change nothing: this is what makes re-syncing idempotent.
      if (sameTokens(existing.tokens, incoming.tokens)) return;
      this.unindex(group, existing.tokens);
      existing.tokens = incoming.tokens;
      this.index(group, incoming.tokens);
      this.dirty.add(group);
    }
    const pending: GraphRecord = {
      link: { source: incoming.source, entity: incoming.entity, recordId: incoming.recordId, customerId: '', rule: 'SEED', evidence: null, linkedAt: this.now },
      tokens: incoming.tokens,
    };
    const candidates = new Set<GraphCustomer>();
    for (const token of incoming.tokens) for (const holder of this.holders.get(tokenString(token)) ?? []) if (holder !== group) candidates.add(holder);

    for (const candidate of [...candidates].sort(Planner.older)) {
      if (!this.graph.customers.has(candidate.id)) continue; // merged away earlier in this loop
      const groupRecords = group ? [...group.records.values()] : [pending];
      const token = this.sharedToken(groupRecords, candidate.records.values())!;
      const refused = this.refusal([...groupRecords, ...candidate.records.values()]);
      if (refused) {
        this.conflicts.push({ ...refused, token, record: incoming, customerId: group?.id ?? null, otherCustomerId: candidate.id, detectedAt: this.now });
        continue;
      }
      if (!group) {
        pending.link = { ...pending.link, customerId: candidate.id, rule: RULE_OF_KIND[token.kind] as LinkRule, evidence: token.value };
        candidate.records.set(key, pending);
        this.customerOfRecord.set(key, candidate);
        this.index(candidate, pending.tokens);
        this.dirty.add(candidate);
        group = candidate;
        continue;
      }
      // The older customer survives; the younger becomes its alias.
      const [survivor, merged] = Planner.older(group, candidate) <= 0 ? [group, candidate] : [candidate, group];
      this.mergeInto(survivor, merged);
      group = survivor;
    }

    if (!group) {
      const customer: GraphCustomer = { id: this.newCustomerId(key), createdAt: this.now, records: new Map() };
      pending.link = { ...pending.link, customerId: customer.id };
      customer.records.set(key, pending);
      this.graph.customers.set(customer.id, customer);
      this.customerOfRecord.set(key, customer);
      this.index(customer, pending.tokens);
      this.dirty.add(customer);
    }
  }

  remove(key: RecordKey): void {
    const recordKey = recordKeyString(key);
    if (this.graph.suppressed.has(recordKey)) this.released.push(key);
    const customer = this.customerOfRecord.get(recordKey);
    if (!customer) return;
    const record = customer.records.get(recordKey)!;
    this.unindex(customer, record.tokens);
    customer.records.delete(recordKey);
    this.customerOfRecord.delete(recordKey);
    if (customer.records.size === 0) {
      this.graph.customers.delete(customer.id);
      this.dirty.delete(customer);
      this.removed.set(customer.id, null);
    } else {
      this.dirty.add(customer);
    }
  }

  changes(): LinkChanges {
    return {
      upserted: [...this.dirty],
      removed: [...this.removed].map(([customerId, mergedInto]) => ({ customerId, mergedInto })),
      conflicts: this.conflicts,
      released: this.released,
    };
  }
}

export type RecordChange = { upsert: IncomingRecord } | { remove: RecordKey };

/**
 * Applies record changes, in order, to a loaded graph. Records are matched on shared tokens; a record
 * bridging several customers merges them into the oldest unless the policy refuses, which is recorded.
 * Records are never split off automatically: undoing a merge is a reviewed, manual act.
 */
export function planLinks(graph: LinkGraph, changes: readonly RecordChange[], policy: MatchPolicy, now = new Date().toISOString()): LinkChanges {
  const planner = new Planner(graph, policy, now);
  for (const change of changes) {
    if ('upsert' in change) planner.upsert(change.upsert);
    else planner.remove(change.remove);
  }
  return planner.changes();
}

/** Every token the changes can match on: what the store must load the neighbourhood of. */
export function tokensOf(changes: readonly RecordChange[]): IdentifierToken[] {
  const seen = new Map<string, IdentifierToken>();
  for (const change of changes) {
    const tokens = 'upsert' in change ? change.upsert.tokens : [{ kind: 'ref' as const, value: recordKeyString(change.remove) }];
    for (const token of tokens) seen.set(tokenString(token), token);
  }
  return [...seen.values()];
}
