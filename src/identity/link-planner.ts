// Decides which customer each source record belongs to, as a rebuild from the sources' current records would (pure).
import { hash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { IdentifierKind, IdentifierToken, Link, LinkRule, RecordKey } from './model.js';
import { isReviewToken, RULE_OF_KIND, recordKeyString, tokenString } from './model.js';

/** A source record with every identifier token it carries, its own `ref` token included. */
export interface IncomingRecord extends RecordKey {
  tokens: IdentifierToken[];
  /** A fingerprint of the name the record holds (identifiers.ts `compileNameKey`), or null: tells a shared value from a person's own. */
  nameKey?: string | null;
}

export interface GraphRecord {
  link: Link;
  tokens: IdentifierToken[];
  nameKey?: string | null;
}

/**
 * What the link store knows of a value suspected of being shared by different people: SUSPECTED (found by the
 * planner, links nobody until reviewed), BLOCKED (a reviewer said junk) or ALLOWED (a reviewer said it is one
 * person's, so it is never suspected again).
 */
export type SharedValueStatus = 'SUSPECTED' | 'BLOCKED' | 'ALLOWED';

/** A customer as loaded for linking: every record and the tokens each carries. */
export interface GraphCustomer {
  id: string;
  createdAt: string;
  records: Map<string, GraphRecord>;
}

/**
 * The part of the link table a batch of records can touch. Loaded as a closure (LinkService.loadClosure): every
 * customer holding a token that any loaded record holds, so each re-planned group of records is whole.
 */
export interface LinkGraph {
  customers: Map<string, GraphCustomer>;
  /** Customer IDs (live or merged away) that already exist, so a new customer never reuses one. */
  takenIds: Set<string>;
  /** Record keys forgotten on request: they must not be linked again until their source deletes them. */
  suppressed: Set<string>;
  /** Merged-away IDs of each loaded customer: a split gives one back to the records it was seeded by. */
  aliases?: Map<string, string[]>;
  /** The shared-value status of the loaded tokens that have one, by `tokenString`. */
  sharedValues?: Map<string, SharedValueStatus>;
}

export interface MatchPolicy {
  /** At most this many distinct values of a kind per customer (e.g. 5 emails). */
  caps: Partial<Record<IdentifierKind, number>>;
  /** `source.entity` pairs a customer may hold at most one record of (a CRM contact is one person). */
  uniqueEntities: ReadonlySet<string>;
  /**
   * A value held by records of one source entity under at least this many different names is suspected of being
   * shared by different people (a placeholder email, a help desk's noreply address): it stops linking. Absent: off.
   */
  sharedValueNames?: number;
}

type ConflictReason = 'CAP_EXCEEDED' | 'UNIQUE_IDENTIFIER' | 'REVIEWED_SPLIT' | 'SUSPECTED_SHARED_VALUE';

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

/** A merge or split the plan makes, for `Customer.linkHistory`: who and what caused it is added by the caller. */
interface LinkEvent {
  kind: 'MERGE' | 'SPLIT';
  /** The survivor of a merge; the customer a split took records from. */
  customerId: string;
  /** The customer merged away; the customer a split made (or gave its ID back to). */
  otherCustomerId: string;
  /** What joined them (merges) or what no longer does (splits): the evidence's rule, REVIEW for a reviewer's. */
  rule: LinkRule | null;
}

export interface LinkChanges {
  /** Customers whose records changed, in full. An upserted ID that was an alias is live again: the store drops the alias. */
  upserted: GraphCustomer[];
  /** Customers that no longer exist: merged into another, or left with no records. */
  removed: { customerId: string; mergedInto: string | null }[];
  conflicts: Conflict[];
  /** Forgotten records their source has now deleted: no longer need suppressing. */
  released: RecordKey[];
  events?: LinkEvent[];
  /** Merged-away IDs that are live customers again (a split gave them back): the store drops their alias rows. */
  restored?: string[];
  /** Written with the links by the caller (LinkService), in the same transaction. */
  history?: LinkHistoryEntry[];
  /** The version each applied record is now at, so an older event about it is ignored. */
  versions?: RecordVersion[];
  /** Webhook event IDs applied, remembered until `expiresAt` so a replay of one within its window is refused. */
  seenEvents?: SeenEvent[];
  /** Values this plan found shared by different people: stored as SUSPECTED (each has a conflict in `conflicts`). */
  suspected?: IdentifierToken[];
}

/** A merge or split as `Customer.linkHistory` shows it: what happened, when, and who or what caused it. */
export interface LinkHistoryEntry extends LinkEvent {
  at: string;
  /** `sync`, `webhook:<source>`, `lookup`, or the reviewer (`api-key:<name>`, `jwt:<sub>`). */
  actor: string;
  /** The request or event that caused it. */
  requestId: string;
  /** A reviewer's stated reason; null for automatic changes. */
  reason: string | null;
}

export interface RecordVersion {
  record: RecordKey;
  version: string;
  deleted: boolean;
}

interface SeenEvent {
  source: string;
  eventId: string;
  expiresAt: string;
}

/**
 * A new customer's ID, derived from its first record so rebuilding the same data gives the same ID. One-shot `hash`
 * rather than a `Hash` object: a sync derives several per record, and it costs 40% of `createHash`'s time.
 */
export function deriveCustomerId(recordKey: string, attempt = 0): string {
  if (attempt !== 0) return `cus_${hash('sha256', `${recordKey}#${attempt}`, 'hex').slice(0, 16)}`;
  let id = firstDerivedIds.get(recordKey);
  if (id === undefined) firstDerivedIds.set(recordKey, (id = `cus_${hash('sha256', recordKey, 'hex').slice(0, 16)}`));
  return id;
}

/**
 * A sync asks for each record's first derived ID several times (the closure's candidate IDs, naming groups, finding
 * seeds); the result is a pure function of the key, so it is remembered, boundedly.
 */
const firstDerivedIds = new LRUCache<string, string>({ max: 100_000 });

/** How many derived IDs per record are recognised as "seeded by this record" when a split gives IDs back. */
const ANCHOR_ATTEMPTS = 3;

const sourceTokens = (tokens: readonly IdentifierToken[]) => tokens.filter((t) => !isReviewToken(t));
/** The same tokens in the same order. */
export const sameTokens = (a: readonly IdentifierToken[], b: readonly IdentifierToken[]) =>
  a.length === b.length && a.every((t, i) => t.kind === b[i]!.kind && t.value === b[i]!.value);

/** Older first (created earlier, then smaller ID): the older of two merged customers keeps its ID. */
const older = (a: GraphCustomer, b: GraphCustomer) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** One record of the working set: its tokens now, and the customer and link it has in the table. */
interface WorkingRecord {
  key: string;
  recordKey: RecordKey;
  tokens: IdentifierToken[];
  nameKey: string | null;
  current: GraphCustomer | null;
}

/** A group of records the canonical partition keeps together; `rules` says how each joined it. */
interface Group {
  records: WorkingRecord[];
  /** The smallest record key: groups are ordered by it, so the partition does not depend on arrival order. */
  first: string;
  joinedBy: Map<string, IdentifierToken | null>;
}

/**
 * The canonical partition: records in key order; each joins every earlier group it shares a token with (those
 * with the smaller first key first) unless the policy refuses that merge. Records a reviewer merged are one
 * group before anything else. It depends only on the set of records and their tokens: a rebuild from the
 * sources and any sequence of events that ends with the same records give the same groups.
 */
function partition(records: readonly WorkingRecord[], policy: MatchPolicy, refused: (record: WorkingRecord, token: IdentifierToken, reason: ConflictReason, detail: string, group: Group, other: Group) => void): Group[] {
  const sorted = [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const groupOf = new Map<WorkingRecord, Group>();
  const union = (into: Group, from: Group) => {
    for (const record of from.records) {
      into.records.push(record);
      groupOf.set(record, into);
      into.joinedBy.set(record.key, from.joinedBy.get(record.key) ?? null);
    }
    if (from.first < into.first) into.first = from.first;
  };
  for (const record of sorted) groupOf.set(record, { records: [record], first: record.key, joinedBy: new Map([[record.key, null]]) });

  // A reviewer's merge binds before any evidence, and no policy refuses it.
  const mergeHolders = new Map<string, WorkingRecord[]>();
  for (const record of sorted) {
    for (const token of record.tokens) {
      if (token.kind !== 'merge') continue;
      const list = mergeHolders.get(token.value);
      if (list) list.push(record);
      else mergeHolders.set(token.value, [record]);
    }
  }
  for (const [value, holders] of [...mergeHolders].sort(([a], [b]) => (a < b ? -1 : 1))) {
    for (const record of holders.slice(1)) {
      const into = groupOf.get(holders[0]!)!;
      const from = groupOf.get(record)!;
      if (into === from) continue;
      union(into, from);
      into.joinedBy.set(record.key, { kind: 'merge', value });
    }
  }

  const holders = new Map<string, WorkingRecord[]>();
  for (const record of sorted) {
    const candidates = new Set<Group>();
    const via = new Map<Group, IdentifierToken>();
    for (const token of record.tokens) {
      if (isReviewToken(token)) continue;
      const key = tokenString(token);
      const held = holders.get(key);
      if (!held) {
        holders.set(key, [record]);
        continue;
      }
      for (const holder of held) {
        const group = groupOf.get(holder)!;
        candidates.add(group);
        if (!via.has(group)) via.set(group, token);
      }
      held.push(record);
    }
    for (const candidate of [...candidates].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))) {
      const group = groupOf.get(record)!;
      // Candidates are the groups they were when found: one may since have been merged into this record's group.
      const target = groupOf.get(candidate.records[0]!)!;
      if (target === group) continue;
      const token = via.get(candidate)!;
      const refusal = refusalOf([...group.records, ...target.records], policy);
      if (refusal) {
        refused(record, token, refusal.reason, refusal.detail, group, target);
        continue;
      }
      const [into, from] = target.first < group.first ? [target, group] : [group, target];
      union(into, from);
      // The record joined through this token unless it came with its group (then its rule is already set).
      if (into === target && from.joinedBy.get(record.key) === null) into.joinedBy.set(record.key, token);
      groupOf.set(record, into);
    }
  }
  return [...new Set(groupOf.values())].sort((a, b) => (a.first < b.first ? -1 : 1));
}

function refusalOf(records: readonly WorkingRecord[], policy: MatchPolicy): { reason: ConflictReason; detail: string } | null {
  const distinct = new Map<IdentifierKind, Set<string>>();
  const uniqueHeld = new Map<string, Set<string>>();
  const splitSides = new Map<string, string>();
  for (const record of records) {
    const entity = `${record.recordKey.source}.${record.recordKey.entity}`;
    if (policy.uniqueEntities.has(entity)) {
      let ids = uniqueHeld.get(entity);
      if (!ids) uniqueHeld.set(entity, (ids = new Set()));
      ids.add(record.recordKey.recordId);
      if (ids.size > 1) return { reason: 'UNIQUE_IDENTIFIER', detail: `would hold two ${entity} records (${[...ids].join(', ')})` };
    }
    for (const token of record.tokens) {
      if (token.kind === 'split') {
        const cut = token.value.lastIndexOf(':');
        const [rule, side] = [token.value.slice(0, cut), token.value.slice(cut + 1)];
        const seen = splitSides.get(rule);
        if (seen !== undefined && seen !== side) return { reason: 'REVIEWED_SPLIT', detail: `a reviewer split these records apart (${rule})` };
        splitSides.set(rule, side);
        continue;
      }
      const cap = policy.caps[token.kind];
      if (cap === undefined) continue;
      let values = distinct.get(token.kind);
      if (!values) distinct.set(token.kind, (values = new Set()));
      values.add(token.value);
      if (values.size > cap) return { reason: 'CAP_EXCEEDED', detail: `would hold more than ${cap} ${token.kind} values` };
    }
  }
  return null;
}

export type RecordChange = { upsert: IncomingRecord } | { remove: RecordKey };

/** The tokens and name a record is planned with, given what the table holds of it (`existing`). */
function plannedRecordOf(graph: LinkGraph): (incoming: IncomingRecord, existing: { tokens: IdentifierToken[] } | null) => { tokens: IdentifierToken[]; nameKey: string | null } {
  // Values suspected of being shared, or blocked by a reviewer, link nobody: stored records no longer hold them.
  const withdrawn = new Set([...(graph.sharedValues ?? [])].flatMap(([token, status]) => (status === 'ALLOWED' ? [] : [token])));
  const linkable = (tokens: IdentifierToken[]) => (withdrawn.size > 0 && tokens.some((t) => withdrawn.has(tokenString(t))) ? tokens.filter((t) => !withdrawn.has(tokenString(t))) : tokens);
  return (incoming, existing) => ({
    // A reviewer's decisions stay with the record through its updates; only a review (which sends them) changes them.
    tokens: linkable(incoming.tokens.some(isReviewToken) ? incoming.tokens : [...sourceTokens(incoming.tokens), ...(existing?.tokens.filter(isReviewToken) ?? [])]),
    nameKey: incoming.nameKey ?? null,
  });
}

/**
 * The changes `planLinks` would skip because the graph already holds their records exactly as they would be planned
 * (the same tokens and name): a sync pass over unchanged data finds most records so. The graph must hold every
 * customer of the changes' records and the shared-value status of their tokens (what one `loadGraph` of the
 * changes' tokens returns). A record changed twice in the batch is never skipped: its second change may undo its first.
 */
export function unchangedUpserts(graph: LinkGraph, changes: readonly RecordChange[]): Set<RecordChange> {
  const mentions = new Map<string, number>();
  for (const change of changes) {
    const key = recordKeyString('upsert' in change ? change.upsert : change.remove);
    mentions.set(key, (mentions.get(key) ?? 0) + 1);
  }
  const held = new Map<string, GraphRecord>();
  for (const customer of graph.customers.values()) for (const [key, record] of customer.records) held.set(key, record);
  const planned = plannedRecordOf(graph);
  const unchanged = new Set<RecordChange>();
  for (const change of changes) {
    if (!('upsert' in change)) continue;
    const key = recordKeyString(change.upsert);
    const existing = held.get(key);
    if (!existing || mentions.get(key) !== 1 || graph.suppressed.has(key)) continue;
    const { tokens, nameKey } = planned(change.upsert, existing);
    if (sameTokens(existing.tokens, tokens) && (existing.nameKey ?? null) === nameKey) unchanged.add(change);
  }
  return unchanged;
}

/**
 * Applies record changes to a loaded graph and re-plans every group of records they touch through the canonical
 * partition: joins and merges where evidence bridges customers, and splits where a merge's evidence is gone (the
 * merged-away ID comes back for the records it was seeded by). Groups the changes do not touch are left alone.
 */
export function planLinks(graph: LinkGraph, changes: readonly RecordChange[], policy: MatchPolicy, now = new Date().toISOString()): LinkChanges {
  const working = new Map<string, WorkingRecord>();
  for (const customer of graph.customers.values()) {
    for (const [key, record] of customer.records) {
      working.set(key, { key, recordKey: { source: record.link.source, entity: record.link.entity, recordId: record.link.recordId }, tokens: record.tokens, nameKey: record.nameKey ?? null, current: customer });
    }
  }
  const changed = new Set<string>();
  const touched = new Set<GraphCustomer>();
  const released: RecordKey[] = [];
  const planned = plannedRecordOf(graph);
  for (const change of changes) {
    if ('upsert' in change) {
      const incoming = change.upsert;
      const key = recordKeyString(incoming);
      if (graph.suppressed.has(key)) continue;
      const existing = working.get(key);
      const { tokens, nameKey } = planned(incoming, existing ?? null);
      // Unchanged records change nothing: this is what makes re-syncing idempotent.
      if (existing && sameTokens(existing.tokens, tokens) && existing.nameKey === nameKey) continue;
      const recordKey = { source: incoming.source, entity: incoming.entity, recordId: incoming.recordId };
      working.set(key, { key, recordKey, tokens, nameKey, current: existing?.current ?? null });
      changed.add(key);
      if (existing?.current) touched.add(existing.current);
    } else {
      const key = recordKeyString(change.remove);
      if (graph.suppressed.has(key)) released.push(change.remove);
      const existing = working.get(key);
      if (!existing) continue;
      working.delete(key);
      changed.add(key);
      if (existing.current) touched.add(existing.current);
    }
  }
  const suspicions = policy.sharedValueNames === undefined ? [] : sharedValuesAmong(working, changed, policy.sharedValueNames, graph.sharedValues);
  for (const { token } of suspicions) {
    const key = tokenString(token);
    // Withdrawn from every record holding it, so the groups it alone joined are planned apart below.
    for (const record of working.values()) {
      if (!record.tokens.some((t) => tokenString(t) === key)) continue;
      record.tokens = record.tokens.filter((t) => tokenString(t) !== key);
      changed.add(record.key);
      if (record.current) touched.add(record.current);
    }
  }
  if (changed.size === 0) return { upserted: [], removed: [], conflicts: [], released, events: [], restored: [], suspected: [] };

  // Every record connected by tokens to a changed record or to a touched customer's records is re-planned.
  // So is every record of a customer holding one of those: a customer is re-planned whole or not at all.
  const components = connectedComponents([...working.values()]);
  const recordsOf = new Map<GraphCustomer, WorkingRecord[]>();
  for (const record of working.values()) {
    if (!record.current) continue;
    const list = recordsOf.get(record.current);
    if (list) list.push(record);
    else recordsOf.set(record.current, [record]);
  }
  const affectedRoots = new Set<WorkingRecord[]>();
  const involved = new Set<GraphCustomer>(touched);
  const queue = [...working.values()].filter((r) => changed.has(r.key) || (r.current && touched.has(r.current)));
  while (queue.length > 0) {
    const component = components.get(queue.pop()!)!;
    if (affectedRoots.has(component)) continue;
    affectedRoots.add(component);
    for (const record of component) {
      if (!record.current || involved.has(record.current)) continue;
      involved.add(record.current);
      queue.push(...recordsOf.get(record.current)!);
    }
  }
  const affected = [...affectedRoots].flat();

  const pendingConflicts: { record: WorkingRecord; token: IdentifierToken; reason: ConflictReason; detail: string; group: Group; other: Group }[] = [];
  const groups = partition(affected, policy, (record, token, reason, detail, group, other) => {
    // A refusal is reported when a change brought it about, not again on every re-plan of the same records.
    if ([...group.records, ...other.records].some((r) => changed.has(r.key))) pendingConflicts.push({ record, token, reason, detail, group, other });
  });

  const aliasIds = new Set([...(graph.aliases?.values() ?? [])].flat());
  const ids = assignIds(groups, [...involved].sort(older), graph, aliasIds);
  const groupOfKey = new Map<string, Group>();
  for (const group of groups) for (const record of group.records) groupOfKey.set(record.key, group);

  const upserted: GraphCustomer[] = [];
  const events: LinkEvent[] = [];
  const restored: string[] = [];
  const assigned = new Set(ids.values());
  for (const group of groups) {
    const id = ids.get(group)!;
    const current = graph.customers.get(id) ?? null;
    const customer: GraphCustomer = { id, createdAt: current?.createdAt ?? now, records: new Map() };
    let dirty = current === null || current.records.size !== group.records.length;
    for (const record of [...group.records].sort((a, b) => (a.key < b.key ? -1 : 1))) {
      const joinedBy = group.joinedBy.get(record.key) ?? null;
      const held = record.current?.id === id ? record.current.records.get(record.key)!.link : null;
      const link: Link = {
        ...record.recordKey,
        customerId: id,
        rule: joinedBy ? RULE_OF_KIND[joinedBy.kind] : 'SEED',
        evidence: joinedBy && joinedBy.kind !== 'merge' ? joinedBy.value : null,
        linkedAt: held?.linkedAt ?? now,
      };
      if (!held || held.rule !== link.rule || held.evidence !== link.evidence || changed.has(record.key)) dirty = true;
      customer.records.set(record.key, { link, tokens: record.tokens, nameKey: record.nameKey });
    }
    if (dirty) upserted.push(customer);
    if (current === null && aliasIds.has(id)) restored.push(id);
    if (current === null) {
      // Records that were another live customer's: a split from it (a new group of records of no customer is not).
      const from = [...new Set(group.records.flatMap((r) => (r.current && assigned.has(r.current.id) && r.current.id !== id ? [r.current.id] : [])))];
      for (const source of from) events.push({ kind: 'SPLIT', customerId: source, otherCustomerId: id, rule: null });
    }
  }

  const removed: LinkChanges['removed'] = [];
  for (const customer of involved) {
    if (assigned.has(customer.id)) continue;
    // Merged into the group now holding most of its records that still exist; removed with the last of them.
    const counts = new Map<string, number>();
    for (const key of customer.records.keys()) {
      const group = groupOfKey.get(key);
      if (group) counts.set(ids.get(group)!, (counts.get(ids.get(group)!) ?? 0) + 1);
    }
    const mergedInto = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))[0]?.[0] ?? null;
    removed.push({ customerId: customer.id, mergedInto });
    if (mergedInto) {
      const survivor = upserted.find((c) => c.id === mergedInto);
      const bridge = survivor ? [...survivor.records.values()].find((r) => customer.records.has(recordKeyString(r.link)) && r.link.rule !== 'SEED') : undefined;
      events.push({ kind: 'MERGE', customerId: mergedInto, otherCustomerId: customer.id, rule: bridge?.link.rule ?? null });
    }
  }
  const conflicts = pendingConflicts.map(({ record, token, reason, detail, group, other }): Conflict => ({
    reason,
    detail,
    token,
    record: record.recordKey,
    customerId: ids.get(groupOfKey.get(record.key)!) ?? null,
    otherCustomerId: ids.get(groupOfKey.get(other.records[0]!.key)!)!,
    detectedAt: now,
  })).filter((c) => c.customerId !== c.otherCustomerId);
  // One row per value found shared, naming a record of the entity that gave it away and another holder's customer.
  for (const { token, entity, holders } of suspicions) {
    const customerOf = (key: string) => ids.get(groupOfKey.get(key)!)!;
    const held = holders.find((key) => key.startsWith(`${entity.replace('.', ':')}:`))!;
    const record = working.get(held)!.recordKey;
    conflicts.unshift({
      reason: 'SUSPECTED_SHARED_VALUE',
      detail: `${holders.length} records hold this ${token.kind}, records of ${entity} under ${policy.sharedValueNames} or more different names: it links nobody until reviewed`,
      token,
      record,
      customerId: customerOf(held),
      otherCustomerId: holders.map(customerOf).find((id) => id !== customerOf(held)) ?? customerOf(held),
      detectedAt: now,
    });
  }
  return { upserted, removed, conflicts, released, events, restored, suspected: suspicions.map((s) => s.token) };
}

/**
 * The values among the changed records' that records of one source entity hold under `minNames` different names,
 * counting every record that holds them once the changes are applied (the loaded closure holds each of them).
 * Records without a name do not count; values a reviewer allowed, and ones already withdrawn, are not candidates.
 */
function sharedValuesAmong(working: ReadonlyMap<string, WorkingRecord>, changed: ReadonlySet<string>, minNames: number, known: ReadonlyMap<string, SharedValueStatus> | undefined): { token: IdentifierToken; entity: string; holders: string[] }[] {
  const candidates = new Map<string, IdentifierToken>();
  for (const key of changed) {
    for (const token of working.get(key)?.tokens ?? []) {
      if (token.kind === 'ref' || isReviewToken(token)) continue;
      if (!known?.has(tokenString(token))) candidates.set(tokenString(token), token);
    }
  }
  if (candidates.size === 0) return [];
  const names = new Map<string, Map<string, Set<string>>>();
  const holders = new Map<string, string[]>();
  const found = new Map<string, string>();
  for (const record of working.values()) {
    const entity = `${record.recordKey.source}.${record.recordKey.entity}`;
    for (const token of record.tokens) {
      const key = tokenString(token);
      if (!candidates.has(key)) continue;
      const held = holders.get(key);
      if (held) held.push(record.key);
      else holders.set(key, [record.key]);
      if (record.nameKey === null) continue;
      let byEntity = names.get(key);
      if (!byEntity) names.set(key, (byEntity = new Map()));
      let seen = byEntity.get(entity);
      if (!seen) byEntity.set(entity, (seen = new Set()));
      seen.add(record.nameKey);
      if (seen.size >= minNames && !found.has(key)) found.set(key, entity);
    }
  }
  return [...found].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, entity]) => ({ token: candidates.get(key)!, entity, holders: holders.get(key)!.sort() }));
}

/** Records connected through any shared token (review tokens included), each mapped to its component's list. */
function connectedComponents(records: readonly WorkingRecord[]): Map<WorkingRecord, WorkingRecord[]> {
  const parent = new Map<WorkingRecord, WorkingRecord>();
  const find = (r: WorkingRecord): WorkingRecord => {
    let root = r;
    while (parent.get(root) !== root) root = parent.get(root)!;
    for (let node = r; node !== root; ) {
      const next = parent.get(node)!;
      parent.set(node, root);
      node = next;
    }
    return root;
  };
  const firstHolder = new Map<string, WorkingRecord>();
  for (const record of records) parent.set(record, record);
  for (const record of records) {
    for (const token of record.tokens) {
      const key = tokenString(token);
      const holder = firstHolder.get(key);
      if (!holder) firstHolder.set(key, record);
      else parent.set(find(record), find(holder));
    }
  }
  const lists = new Map<WorkingRecord, WorkingRecord[]>();
  const result = new Map<WorkingRecord, WorkingRecord[]>();
  for (const record of records) {
    const root = find(record);
    let list = lists.get(root);
    if (!list) lists.set(root, (list = []));
    list.push(record);
    result.set(record, list);
  }
  return result;
}

/**
 * Names each group: a live customer keeps its ID in the group holding the record it was seeded by, or else in
 * the group holding most of its records; a merged-away ID comes back for the group holding its seed record;
 * any other group gets an ID derived from its first record. Older customers choose first.
 */
function assignIds(groups: readonly Group[], involved: readonly GraphCustomer[], graph: LinkGraph, aliasIds: ReadonlySet<string>): Map<Group, string> {
  const ids = new Map<Group, string>();
  const used = new Set<string>();
  const groupOfKey = new Map<string, Group>();
  for (const group of groups) for (const record of group.records) groupOfKey.set(record.key, group);
  // Nearly every customer ID is a record's first derived one: the later attempts are hashed only if one is not.
  const seeds: Map<string, string>[] = [];
  const seedRecord = (id: string): string => {
    for (let attempt = 0; attempt < ANCHOR_ATTEMPTS; attempt += 1) {
      seeds[attempt] ??= new Map([...groupOfKey.keys()].map((key) => [deriveCustomerId(key, attempt), key]));
      const key = seeds[attempt]!.get(id);
      if (key !== undefined) return key;
    }
    return '';
  };
  const give = (group: Group | undefined, id: string) => {
    if (!group || ids.has(group) || used.has(id)) return;
    ids.set(group, id);
    used.add(id);
  };
  for (const customer of involved) give(groupOfKey.get(seedRecord(customer.id)), customer.id);
  for (const group of groups) {
    if (ids.has(group)) continue;
    const counts = new Map<GraphCustomer, number>();
    for (const record of group.records) if (record.current) counts.set(record.current, (counts.get(record.current) ?? 0) + 1);
    const best = [...counts].filter(([c]) => !used.has(c.id)).sort(([a, x], [b, y]) => y - x || older(a, b))[0];
    if (best) give(group, best[0].id);
  }
  for (const customer of involved) for (const alias of graph.aliases?.get(customer.id) ?? []) give(groupOfKey.get(seedRecord(alias)), alias);
  for (const group of groups) {
    if (ids.has(group)) continue;
    for (let attempt = 0; ; attempt += 1) {
      const id = deriveCustomerId(group.first, attempt);
      if (!used.has(id) && !graph.takenIds.has(id) && !graph.customers.has(id) && !aliasIds.has(id)) {
        give(group, id);
        break;
      }
    }
  }
  return ids;
}

/**
 * Which of a customer's records a reviewer's split puts on `anchorB`'s side: the canonical partition of the
 * records with the two anchors forbidden to meet, so the evidence decides where each other record goes.
 */
export function reviewedSplitSide(records: readonly IncomingRecord[], anchorA: string, anchorB: string, policy: MatchPolicy): Set<string> {
  const working = records.map((r): WorkingRecord => {
    const key = recordKeyString(r);
    const cut = key === anchorA ? [{ kind: 'split' as const, value: 'pending:a' }] : key === anchorB ? [{ kind: 'split' as const, value: 'pending:b' }] : [];
    return { key, recordKey: { source: r.source, entity: r.entity, recordId: r.recordId }, tokens: [...r.tokens.filter((t) => t.kind !== 'merge'), ...cut], nameKey: null, current: null };
  });
  const groups = partition(working, policy, () => undefined);
  return new Set(groups.find((g) => g.records.some((r) => r.key === anchorB))!.records.map((r) => r.key));
}

/** The record a customer ID was derived from (its seed), among these record keys; null when none is. */
export function seedRecordOf(customerId: string, recordKeys: Iterable<string>): string | null {
  for (const key of recordKeys) for (let attempt = 0; attempt < ANCHOR_ATTEMPTS; attempt += 1) if (deriveCustomerId(key, attempt) === customerId) return key;
  return null;
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
