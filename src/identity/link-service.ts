// The one code path that changes the link table (sync, on-demand lookups, webhooks, forget), serialised and cache-aware.
import pLimit from 'p-limit';
import type { HubConfig, SearchEndpoint, SearchKind } from '../config/schema.js';
import { ErrorCode } from '../errors/catalogue.js';
import type { UpstreamScope } from '../sources/upstream-scope.js';
import type { RecordCache } from '../sources/record-cache.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { ChangeFeed } from './change-feed.js';
import { customerChangesOf, recordOwners } from './change-events.js';
import type { CustomerDirectory, LinkDirectory } from './directory.js';
import { compileIdentifierExtractor, compileNameKey, incomingRecord, IdentityRules, MAX_RECORD_ID_LENGTH } from './identifiers.js';
import { LinkCounters } from './link-counters.js';
import { deriveCustomerId, planLinks, reviewedSplitSide, seedRecordOf, tokensOf, unchangedUpserts, type GraphCustomer, type IncomingRecord, type LinkChanges, type LinkGraph, type MatchPolicy, type RecordChange, type RecordVersion } from './link-planner.js';
import type { CustomerLinks, IdentifierToken, RecordKey } from './model.js';
import { recordKeyString, tokenString } from './model.js';
import { compileSingularPath as compilePath } from '../expressions/json-path.js';
import { randomUUID } from 'node:crypto';
import { emailMd5, normalizeEmail } from '../sources/normalize.js';
import { linkAuditEntries, type LinkOrigin } from './link-audit.js';
import type { ForgottenCustomer, LinkStore, SharedValueDecision, SyncCursor } from './store.js';

/** What a plan reads and writes: the link store, or a first sync's copy of it in memory (first-sync.ts). */
export type PlanStore = Pick<LinkStore, 'seenEvents' | 'getRecordVersions' | 'loadGraph' | 'applyChanges' | 'appendAudit'>;

export interface ApplySummary {
  /** Customers whose records changed (created, joined, updated). */
  customersChanged: number;
  merges: number;
  /** Merges undone: their evidence is gone, or a reviewer split them. */
  splits: number;
  conflicts: number;
  customersRemoved: number;
  /** Changes ignored because the table already holds that version of the record or a newer one. */
  stale: number;
  /** True when the whole delivery was refused: its event ID was applied before, within its replay window. */
  replayed: boolean;
  /** Values found shared by different people (they link nobody until reviewed). */
  sharedValuesSuspected: number;
}

/** A record change with the version the source gave it (its `versionPath` value, or a delete's version). */
export type VersionedChange = RecordChange & { version?: string | null };

export interface ApplyOptions {
  /** A webhook delivery's event ID: applied at most once within `expiresAt`, across every process sharing the store. */
  event?: { source: string; id: string; expiresAt: string };
  /** A reviewer's stated reason, kept in the link history. */
  reason?: string;
  /**
   * Leaves the counters alone: a first sync plans pages on a copy of the table and counts each page once its rows
   * are written (`countApplied`), so pages it plans again after giving up the copy are not counted twice.
   */
  uncounted?: boolean;
}

/** Thrown for a review the table cannot carry out (unknown customer, an ID that was not merged into it). */
export class LinkReviewError extends Error {
  readonly code = ErrorCode.BAD_USER_INPUT;
}

/**
 * Whether version `a` is newer than `b`. Numbers (revisions) compare as numbers, timestamps as instants, and
 * anything else as text; a source keeps one kind per entity.
 */
function isNewerVersion(a: string, b: string): boolean {
  const [na, nb] = [Number(a), Number(b)];
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(na) && Number.isFinite(nb)) return na > nb;
  const [ta, tb] = [Date.parse(a), Date.parse(b)];
  if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta > tb;
  return a > b;
}

export interface LookupResult {
  customer: CustomerLinks | null;
  /** Sources that failed while probing; the answer may be incomplete without them. */
  errors: Error[];
}

/**
 * The values a source's search for `kind` is sent for a lookup of `token` typed as `raw`: normalised as the hub matches
 * it (an email lower-cased and trimmed, not our dot-and-plus canonical form; a phone in E.164), as typed (trimmed), or
 * both when they differ. An email hash is always of the lower-cased address, as tools that key people by it compute it.
 */
export function searchValues(kind: SearchKind, valueCase: SearchEndpoint['valueCase'], token: IdentifierToken, raw: string): string[] {
  if (kind === 'email_md5') {
    const email = token.kind === 'email' ? normalizeEmail(raw) : null;
    return email === null ? [] : [emailMd5(email)];
  }
  if (kind !== token.kind) return [];
  const normalized = kind === 'email' ? normalizeEmail(raw) : token.value;
  if (normalized === null) return [];
  const typed = raw.trim();
  if (valueCase === 'normalized') return [normalized];
  if (valueCase === 'as-typed') return [typed];
  return typed === normalized ? [normalized] : [normalized, typed];
}

export class LinkService {
  readonly rules: IdentityRules;
  private readonly policy: MatchPolicy;
  private readonly extractors = new Map<string, { identifiers: ReturnType<typeof compileIdentifierExtractor>; nameKey: ReturnType<typeof compileNameKey> }>();
  private readonly versionReaders = new Map<string, (raw: unknown) => unknown>();
  /** A plan reads the graph and then writes it: two plans interleaved would each miss the other's links. */
  private readonly serial = pLimit(1);

  constructor(
    private readonly config: HubConfig,
    private readonly registry: SourceRegistry,
    private readonly directory: LinkDirectory,
    /** Holds what was read of records; a forget drops it with the links. */
    private readonly recordCache?: Pick<RecordCache, 'invalidate'>,
    readonly counters = new LinkCounters(),
    /** Told of every change applied, for live subscribers. */
    private readonly feed?: Pick<ChangeFeed, 'publish'>,
  ) {
    this.rules = new IdentityRules(config.identity);
    const { minNames } = config.identity.sharedValues;
    this.policy = { caps: config.identity.caps, uniqueEntities: new Set(config.identity.uniquePerCustomer), ...(minNames > 0 ? { sharedValueNames: minNames } : {}) };
    for (const { source, entity, reader } of registry.linkedEntities()) {
      this.extractors.set(`${source}.${entity}`, { identifiers: compileIdentifierExtractor(reader.config, this.rules, counters), nameKey: compileNameKey(reader.config) });
      if (reader.config.versionPath) this.versionReaders.set(`${source}.${entity}`, compilePath(reader.config.versionPath));
    }
  }

  /**
   * A raw record as the planner needs it; null when it has no usable ID (missing, empty or longer than
   * MAX_RECORD_ID_LENGTH: counted as invalid, never linked).
   */
  toIncoming(source: string, entity: string, raw: unknown): IncomingRecord | null {
    const extract = this.extractors.get(`${source}.${entity}`);
    if (!extract) throw new Error(`${source}.${entity} is not a linked entity`);
    const recordId = validRecordId(this.registry.reader(source, entity).recordIdOf(raw));
    if (recordId === null) {
      this.counters.invalid.record_id += 1;
      return null;
    }
    return incomingRecord({ source, entity, recordId }, raw, extract.identifiers, extract.nameKey);
  }

  /** The record's version at the entity's `versionPath`, as text; null when the entity declares none or the record lacks it. */
  versionOf(source: string, entity: string, raw: unknown): string | null {
    const value = this.versionReaders.get(`${source}.${entity}`)?.(raw);
    return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
  }

  /** A raw record and its version, as a change for `apply`; null when the record is invalid. */
  upsertOf(source: string, entity: string, raw: unknown): VersionedChange | null {
    const record = this.toIncoming(source, entity, raw);
    return record ? { upsert: record, version: this.versionOf(source, entity, raw) } : null;
  }

  /**
   * Plans and writes record changes; every change is also written to the audit log under `origin`. A change
   * whose version is not newer than the one the table holds is ignored (counted as stale); a delivery whose event
   * ID was applied within its window is refused whole.
   */
  apply(changes: readonly VersionedChange[], cursor?: SyncCursor, origin: LinkOrigin = { actor: 'system', requestId: 'internal' }, options: ApplyOptions = {}): Promise<ApplySummary> {
    return this.serial(() => this.exclusive(async () => {
      // Counted before the write: one that fails half-way may still have changed the table.
      this.writes += 1;
      const { summary, announce } = await this.planAndWrite(this.directory.store, changes, cursor, origin, options);
      announce();
      return summary;
    }));
  }

  /** Counts record changes that reached the planner (`fresh`) and those ignored as stale. */
  countApplied(fresh: number, stale: number): void {
    this.counters.applied += fresh;
    this.counters.stale += stale;
  }

  /**
   * Link-table writes this process made through `apply`, `forget` and `reviewSharedValue`: a first sync planning on a
   * copy of the table in memory (FirstSync) checks it did not move under it.
   */
  writes = 0;

  /**
   * What `apply` does inside the locks, against `store` (the link store, or a first sync's copy of it in memory that
   * is written out later): plans, writes, and returns how to announce the change (invalidate caches, tell
   * subscribers), which the caller does once the plan is in the table that readers read.
   */
  async planAndWrite(store: PlanStore, changes: readonly VersionedChange[], cursor: SyncCursor | undefined, origin: LinkOrigin, options: ApplyOptions = {}): Promise<{ summary: ApplySummary; announce: () => void }> {
    const now = new Date().toISOString();
    const summary: ApplySummary = { customersChanged: 0, merges: 0, splits: 0, conflicts: 0, customersRemoved: 0, stale: 0, replayed: false, sharedValuesSuspected: 0 };
    if (options.event && (await store.seenEvents(options.event.source, [options.event.id], now)).has(options.event.id)) {
      this.counters.replays += 1;
      return { summary: { ...summary, replayed: true }, announce: () => undefined };
    }
    const { fresh, versions } = await this.freshChanges(store, changes);
    summary.stale = changes.length - fresh.length;
    if (!options.uncounted) this.countApplied(fresh.length, summary.stale);
    const { graph, changes: planned, pruned } = await this.loadClosure(store, fresh);
    // Owners before the plan, of the unchanged records too (their customers were pruned): they are still announced.
    const owners = this.feed ? recordOwners({ ...graph, customers: new Map([...pruned.map((c): [string, GraphCustomer] => [c.id, c]), ...graph.customers]) }) : null;
    const plan: LinkChanges = planLinks(graph, planned, this.policy, now);
    plan.versions = versions;
    if (options.event) plan.seenEvents = [{ source: options.event.source, eventId: options.event.id, expiresAt: options.event.expiresAt }];
    plan.history = (plan.events ?? []).map((event) => ({ ...event, at: now, actor: origin.actor, requestId: origin.requestId, reason: options.reason ?? null }));
    const writes = plan.upserted.length + plan.removed.length + plan.conflicts.length + plan.released.length + versions.length + (plan.seenEvents?.length ?? 0);
    if (writes > 0 || cursor) await store.applyChanges(plan, cursor);
    const audit = linkAuditEntries(plan, origin);
    if (audit.length > 0) await store.appendAudit(audit);
    // What to announce is worked out now, so a first sync, which announces a page only once a later bulk write has
    // its rows, keeps these few IDs and events meanwhile instead of the plan, its graph and the records' owners.
    const invalidated = [...plan.upserted.map((c) => c.id), ...plan.removed.map((r) => r.customerId)];
    // A record at a newer version than the table held changed at its source, whether a webhook or a sync brought it.
    const events = owners ? customerChangesOf(fresh, owners, plan, origin.announced || new Set(versions.filter((v) => !v.deleted).map((v) => recordKeyString(v.record))), now) : null;
    const announce = () => {
      this.directory.invalidate(invalidated);
      // After the invalidation: a subscriber re-reading the customer for this event must see the new links.
      if (events) this.feed!.publish(events);
    };
    return {
      announce,
      summary: {
        ...summary,
        sharedValuesSuspected: plan.suspected?.length ?? 0,
        customersChanged: plan.upserted.length,
        merges: plan.removed.filter((r) => r.mergedInto !== null).length,
        splits: (plan.events ?? []).filter((e) => e.kind === 'SPLIT').length,
        conflicts: plan.conflicts.length,
        customersRemoved: plan.removed.filter((r) => r.mergedInto === null).length,
      },
    };
  }

  /**
   * The changes newer than what the table holds, in order, and the versions they bring. A delete without a
   * version leaves a tombstone at the record's last version, so an older upsert delivered after it stays ignored.
   */
  private async freshChanges(store: PlanStore, changes: readonly VersionedChange[]): Promise<{ fresh: RecordChange[]; versions: RecordVersion[] }> {
    const keyOf = (change: VersionedChange): RecordKey => ('upsert' in change ? change.upsert : change.remove);
    const versioned = changes.filter((c) => c.version != null || 'remove' in c);
    const held = versioned.length > 0 ? await store.getRecordVersions(versioned.map(keyOf)) : new Map<string, RecordVersion>();
    const fresh: RecordChange[] = [];
    const written = new Map<string, RecordVersion>();
    for (const change of changes) {
      const record = keyOf(change);
      const key = recordKeyString(record);
      const last = written.get(key) ?? held.get(key);
      if (change.version != null) {
        if (last && !isNewerVersion(change.version, last.version)) continue;
        written.set(key, { record, version: change.version, deleted: 'remove' in change });
      } else if ('remove' in change && last) {
        written.set(key, { record, version: last.version, deleted: true });
      }
      fresh.push('upsert' in change ? { upsert: change.upsert } : { remove: change.remove });
    }
    return { fresh, versions: [...written.values()] };
  }

  /**
   * The graph a plan needs: every customer holding a token of the changes, then every customer holding a token
   * of those, until nothing new is found. A merge is re-planned only with all the records its evidence joins.
   * Records the first read shows unchanged (held with the tokens and name they bring) are dropped from the changes,
   * with the part of the graph only they reached: the planner would skip them, and a pass over unchanged data
   * then costs one read a page instead of a closure and a plan.
   */
  private async loadClosure(store: PlanStore, all: readonly RecordChange[]): Promise<{ graph: LinkGraph; changes: RecordChange[]; pruned: GraphCustomer[] }> {
    const graph: LinkGraph = { customers: new Map(), takenIds: new Set(), suppressed: new Set(), aliases: new Map() };
    const asked = new Set<string>();
    const candidates = (keys: Iterable<string>) => [...keys].flatMap((key) => [deriveCustomerId(key), deriveCustomerId(key, 1)]);
    let changes = [...all];
    let tokens = tokensOf(changes);
    let candidateIds = candidates(changes.flatMap((c) => ('upsert' in c ? [recordKeyString(c.upsert)] : [])));
    let first = true;
    let pruned: GraphCustomer[] = [];
    while (tokens.length > 0) {
      for (const token of tokens) asked.add(tokenString(token));
      const part = await store.loadGraph({ tokens, candidateIds });
      const added: string[] = [];
      const next = new Map<string, IdentifierToken>();
      for (const [id, customer] of part.customers) {
        if (graph.customers.has(id)) continue;
        graph.customers.set(id, customer);
        for (const [key, record] of customer.records) {
          added.push(key);
          for (const token of record.tokens) if (!asked.has(tokenString(token))) next.set(tokenString(token), token);
        }
      }
      for (const id of part.takenIds) graph.takenIds.add(id);
      for (const key of part.suppressed) graph.suppressed.add(key);
      for (const [id, aliases] of part.aliases ?? []) graph.aliases!.set(id, aliases);
      for (const [token, status] of part.sharedValues ?? []) (graph.sharedValues ??= new Map()).set(token, status);
      tokens = [...next.values()];
      candidateIds = candidates(added);
      if (first) {
        first = false;
        const unchanged = unchangedUpserts(graph, changes);
        if (unchanged.size > 0) {
          changes = changes.filter((c) => !unchanged.has(c));
          ({ tokens, pruned } = keepReachable(graph, changes, asked));
          candidateIds = candidates([...graph.customers.values()].flatMap((c) => [...c.records.keys()]));
        }
      }
    }
    return { graph, changes, pruned };
  }

  /**
   * Removes the links of an entity's records a complete sync pass did not list (linked before the pass began, so
   * a record created during it is kept), through the same planner: merges that rested on them are undone.
   */
  async reconcile(source: string, entity: string, listed: ReadonlySet<string>, passStartedAt: string, through: Pick<LinkService, 'apply'> = this): Promise<number> {
    const gone = (await this.directory.store.listLinkedRecordIds(source, entity, passStartedAt)).filter((id) => !listed.has(id));
    for (let i = 0; i < gone.length; i += 500) {
      await through.apply(gone.slice(i, i + 500).map((recordId) => ({ remove: { source, entity, recordId } })), undefined, { actor: 'sync', requestId: `reconcile:${source}.${entity}:${passStartedAt}` });
    }
    return gone.length;
  }

  /**
   * A reviewer's merge: every record of these customers carries one `merge` token, so the planner keeps them
   * together whatever the policy or later evidence says, and any reviewed split between them is lifted.
   */
  async mergeCustomers(ids: readonly string[], reason: string, origin: LinkOrigin): Promise<CustomerLinks> {
    const found = await this.directory.store.getCustomers(ids);
    const missing = ids.filter((id) => !found.has(id));
    if (missing.length > 0) throw new LinkReviewError(`no customer ${missing.join(', ')}`);
    const keys = [...new Set([...found.values()].flatMap((c) => c.links.map((l) => recordKeyString(l))))];
    const records = await this.recordsWithTokens(keys);
    const rule = `rev_${randomUUID().slice(0, 8)}`;
    const splitRules = (side: string) => new Set(records.flatMap((r) => r.tokens.filter((t) => t.kind === 'split' && t.value.endsWith(side)).map((t) => t.value.slice(0, -2))));
    const [sideA, sideB] = [splitRules(':a'), splitRules(':b')];
    const lifted = new Set([...sideA].filter((r) => sideB.has(r)));
    const changes = records.map((r): VersionedChange => ({
      upsert: { ...r, tokens: [...r.tokens.filter((t) => !(t.kind === 'split' && lifted.has(t.value.slice(0, -2)))), { kind: 'merge', value: rule }] },
    }));
    await this.apply(changes, undefined, origin, { reason });
    return (await this.directory.store.getCustomers([ids[0]!])).get(ids[0]!)!;
  }

  /**
   * A reviewer's split of `mergedId` out of customer `id`: the records are divided by the canonical partition with
   * the two customers' seed records kept apart, and each side carries a `split` token so the same evidence never
   * merges them again. The merged-away ID comes back for its side.
   */
  async unmergeCustomer(id: string, mergedId: string, reason: string, origin: LinkOrigin): Promise<CustomerLinks[]> {
    const customer = (await this.directory.store.getCustomers([id])).get(id);
    if (!customer) throw new LinkReviewError(`no customer ${id}`);
    if (!customer.mergedIds.includes(mergedId)) throw new LinkReviewError(`${mergedId} was not merged into ${customer.customerId}`);
    const keys = customer.links.map((l) => recordKeyString(l));
    const anchorB = seedRecordOf(mergedId, keys);
    if (anchorB === null) throw new LinkReviewError(`no record ${mergedId} was started by is linked any more: its records cannot be told apart`);
    const anchorA = seedRecordOf(customer.customerId, keys) ?? keys.find((k) => k !== anchorB)!;
    const records = await this.recordsWithTokens(keys);
    const sideB = reviewedSplitSide(records, anchorA, anchorB, this.policy);
    const rule = `rev_${randomUUID().slice(0, 8)}`;
    const valuesB = new Set(records.filter((r) => sideB.has(recordKeyString(r))).flatMap((r) => r.tokens.filter((t) => t.kind === 'merge').map((t) => t.value)));
    const valuesA = new Set(records.filter((r) => !sideB.has(recordKeyString(r))).flatMap((r) => r.tokens.filter((t) => t.kind === 'merge').map((t) => t.value)));
    const changes = records.map((r): VersionedChange => ({
      upsert: {
        ...r,
        tokens: [
          // A reviewer's earlier merge across the two sides is what this split overrides.
          ...r.tokens.filter((t) => !(t.kind === 'merge' && valuesA.has(t.value) && valuesB.has(t.value))),
          { kind: 'split', value: `${rule}:${sideB.has(recordKeyString(r)) ? 'b' : 'a'}` },
        ],
      },
    }));
    await this.apply(changes, undefined, origin, { reason });
    const after = await this.directory.store.getCustomers([customer.customerId, mergedId]);
    return [...new Map([...after.values()].map((c) => [c.customerId, c])).values()];
  }

  /** The records with their stored tokens (a review keeps what the sources sent and changes only its own tokens). */
  private async recordsWithTokens(keys: readonly string[]): Promise<IncomingRecord[]> {
    const graph = await this.directory.store.loadGraph({ tokens: keys.map((value) => ({ kind: 'ref', value })), candidateIds: [] });
    const records: IncomingRecord[] = [];
    for (const customer of graph.customers.values()) {
      for (const [key, record] of customer.records) if (keys.includes(key)) records.push({ source: record.link.source, entity: record.link.entity, recordId: record.link.recordId, tokens: record.tokens });
    }
    return records;
  }

  /**
   * A customer by email or phone. A miss probes every source that can search by it, links what they
   * return, and answers from the table again, in the same request; the probes' calls carry `scope` (explain sees them),
   * its lookups go through `directory` (the request's view, which explain counts).
   */
  async lookup(kind: 'email' | 'phone', raw: string, requestId = 'internal', scope: UpstreamScope = {}, directory: CustomerDirectory = this.directory): Promise<LookupResult> {
    const [token] = this.rules.lookupTokens(kind, raw);
    if (!token) return { customer: null, errors: [] };
    const found = await directory.customerByIdentifier(token.kind, token.value);
    if (found || !this.config.identity.onDemand.enabled || directory.isKnownMiss(token)) return { customer: found, errors: [] };
    const errors = await this.probe(token, raw, requestId, scope);
    const customer = await directory.customerByIdentifier(token.kind, token.value);
    if (!customer && errors.length === 0) directory.rememberMiss(token, this.config.identity.onDemand.missTtlMs);
    return { customer, errors };
  }

  private async probe(token: IdentifierToken, raw: string, requestId: string, scope: UpstreamScope): Promise<Error[]> {
    const searches: { source: string; entity: string; kind: SearchKind; value: string }[] = [];
    for (const { source, entity, reader } of this.registry.linkedEntities()) {
      for (const [kind, endpoint] of Object.entries(reader.config.search ?? {}) as [SearchKind, SearchEndpoint][]) {
        for (const value of searchValues(kind, endpoint.valueCase, token, raw)) searches.push({ source, entity, kind, value });
      }
    }
    const results = await Promise.allSettled(
      searches.map(async (s) => {
        // A probe is one of the request's upstream calls like any other: past the budget it is not made, and reports why.
        // Spent before the first await, so the searches spend in the order they are listed.
        scope.budget?.spend(s.source, 1);
        return { ...s, items: await this.registry.reader(s.source, s.entity).search(s.kind, s.value, scope) };
      }),
    );
    const changes: RecordChange[] = [];
    const errors: Error[] = [];
    for (const result of results) {
      if (result.status === 'rejected') {
        errors.push(result.reason as Error);
        continue;
      }
      for (const raw of result.value.items) {
        const record = this.toIncoming(result.value.source, result.value.entity, raw);
        if (record) changes.push({ upsert: record });
      }
    }
    if (changes.length > 0) await this.apply(changes, undefined, { actor: 'lookup', requestId });
    return errors;
  }

  /** Removes a customer from the table and every cache; the caller records the audit entry. */
  forget(customerId: string): Promise<ForgottenCustomer | null> {
    return this.serial(() => this.exclusive(async () => {
      this.writes += 1;
      const forgotten = await this.directory.store.forgetCustomer(customerId);
      if (forgotten) {
        this.directory.invalidate([forgotten.customerId, customerId]);
        this.recordCache?.invalidate(forgotten.records);
        this.feed?.publish([{ kind: 'FORGET', customerId: forgotten.customerId, survivorId: null, splitOffId: null, source: null, entity: null, recordId: null, at: new Date().toISOString() }]);
      }
      return forgotten;
    }));
  }

  /** A reviewer's decision on a suspected shared value; records are linked as it says when next synced or sent. */
  reviewSharedValue(conflictId: number, decision: SharedValueDecision) {
    return this.serial(() => this.exclusive(() => {
      this.writes += 1;
      return this.directory.store.decideSharedValue(conflictId, decision);
    }));
  }

  /** `serial` orders this process's plans; the store's own lock (SQLite BEGIN IMMEDIATE, PostgreSQL advisory lock) orders them across processes. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const store = this.directory.store;
    return store.withLinkLock(work);
  }
}

/**
 * Prunes the graph to the customers the changes reach through tokens (over what is loaded) and returns the tokens
 * of those customers not asked yet: the closure goes on from there. A customer only dropped changes reached goes,
 * so that, if a later read reaches it after all, it is added and followed like any other.
 */
function keepReachable(graph: LinkGraph, changes: readonly RecordChange[], asked: ReadonlySet<string>): { tokens: IdentifierToken[]; pruned: GraphCustomer[] } {
  const holders = new Map<string, string[]>();
  for (const customer of graph.customers.values()) {
    for (const record of customer.records.values()) {
      for (const token of record.tokens) {
        const key = tokenString(token);
        const list = holders.get(key);
        if (!list) holders.set(key, [customer.id]);
        else if (list[list.length - 1] !== customer.id) list.push(customer.id);
      }
    }
  }
  const reached = new Set<string>();
  const queue = tokensOf(changes).map(tokenString);
  const seen = new Set(queue);
  while (queue.length > 0) {
    for (const id of holders.get(queue.pop()!) ?? []) {
      if (reached.has(id)) continue;
      reached.add(id);
      for (const record of graph.customers.get(id)!.records.values()) {
        for (const token of record.tokens) {
          const key = tokenString(token);
          if (!seen.has(key)) {
            seen.add(key);
            queue.push(key);
          }
        }
      }
    }
  }
  const pruned: GraphCustomer[] = [];
  for (const [id, customer] of [...graph.customers]) {
    if (reached.has(id)) continue;
    pruned.push(customer);
    graph.customers.delete(id);
    graph.aliases?.delete(id);
  }
  const next = new Map<string, IdentifierToken>();
  for (const id of reached) {
    for (const record of graph.customers.get(id)!.records.values()) for (const token of record.tokens) if (!asked.has(tokenString(token))) next.set(tokenString(token), token);
  }
  return { tokens: [...next.values()], pruned };
}

function validRecordId(id: string | null): string | null {
  return id === null || id.trim() === '' || id.length > MAX_RECORD_ID_LENGTH ? null : id;
}
