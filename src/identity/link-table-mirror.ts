// A first sync's copy of the link table in memory: plans read it instead of the store, and it is written out in bulk.
import { sameTokens, type GraphCustomer, type GraphRecord, type LinkChanges, type LinkGraph, type RecordVersion, type SharedValueStatus } from './link-planner.js';
import type { IdentifierToken, Link, RecordKey } from './model.js';
import { recordKeyString, tokenString } from './model.js';
import type { AuditEntry, BulkLinkRows, SyncCursor } from './store.js';

/** A link row and the identifier rows of its record (each token once, at its first position), as a store holds them. */
interface MirrorRecord {
  link: Link;
  nameKey: string | null;
  tokens: IdentifierToken[];
}

/**
 * The customers holding one token, each with how many of its records do. Almost every token has one holder: that
 * case is a small object instead of a Map (a Map per token was over 150 bytes, millions of them at a million people,
 * all traversed by every major GC); a second holder turns it into a Map, the first holder first, so the order
 * `loadGraph` meets customers in is the one a Map from the start would give.
 */
type Holders = { customerId: string; count: number } | Map<string, number>;

interface AliasRow {
  customerId: string;
  mergedAt: string;
}

/**
 * The link table as the plans of a first sync leave it, held in memory (LinkService.planAndWrite reads and writes it
 * as it would the store). It starts empty, as the store it mirrors must be: nothing customers, aliases, record versions,
 * shared values or forgotten records. Each `applyChanges` does to the copy what the stores' `applyChanges` does to
 * their tables; `takeRows` returns what changed since it was last called, for one bulk write.
 */
export class LinkTableMirror {
  private readonly customers = new Map<string, { createdAt: string; records: Set<string> }>();
  private readonly records = new Map<string, MirrorRecord>();
  /** tokenString → the customers holding it, each with how many of its records do. */
  private readonly holders = new Map<string, Holders>();
  private readonly aliases = new Map<string, AliasRow>();
  private readonly aliasesOf = new Map<string, Set<string>>();
  private readonly versions = new Map<string, RecordVersion>();
  private readonly sharedValues = new Map<string, SharedValueStatus>();

  /** Each key's row as the last bulk write left it (undefined: absent), recorded the first time it changes after it. */
  private customersBefore = new Map<string, { createdAt: string } | undefined>();
  private recordsBefore = new Map<string, MirrorRecord | undefined>();
  private aliasesBefore = new Map<string, AliasRow | undefined>();
  private versionsChanged = new Set<string>();
  private pending: Omit<BulkLinkRows, 'customers' | 'links' | 'identifiers' | 'aliases' | 'versions' | 'touched'> = { sharedValues: [], conflicts: [], history: [], audit: [], cursors: [] };
  private touched = new Set<string>();
  /** Records planned since the last `takeRows`: what paces the bulk writes. */
  recordsPending = 0;

  async seenEvents(): Promise<Set<string>> {
    // A sync delivers no webhook events; and the table a first sync starts from holds none.
    return new Set();
  }

  async getRecordVersions(records: readonly RecordKey[]): Promise<Map<string, RecordVersion>> {
    const found = new Map<string, RecordVersion>();
    for (const record of records) {
      const key = recordKeyString(record);
      const version = this.versions.get(key);
      if (version) found.set(key, version);
    }
    return found;
  }

  /** What the stores' `loadGraph` returns from the same rows. */
  async loadGraph(query: { tokens: readonly IdentifierToken[]; candidateIds: readonly string[] }): Promise<LinkGraph> {
    const customers = new Map<string, GraphCustomer>();
    for (const token of query.tokens) {
      for (const id of this.holderIds(tokenString(token))) {
        if (customers.has(id)) continue;
        const row = this.customers.get(id)!;
        const records = new Map<string, GraphRecord>();
        // The rows themselves, not copies: the planner reads a graph and never changes it (it builds new customers).
        for (const key of row.records) records.set(key, this.records.get(key)!);
        customers.set(id, { id, createdAt: row.createdAt, records });
      }
    }
    const takenIds = new Set(query.candidateIds.filter((id) => this.customers.has(id) || this.aliases.has(id)));
    const sharedValues = new Map<string, SharedValueStatus>();
    for (const token of query.tokens) {
      if (token.kind === 'ref') continue;
      const status = this.sharedValues.get(tokenString(token));
      if (status) sharedValues.set(tokenString(token), status);
    }
    const aliases = new Map<string, string[]>();
    for (const id of customers.keys()) {
      const own = this.aliasesOf.get(id);
      if (!own || own.size === 0) continue;
      // As the stores list them: by merge time, then ID.
      aliases.set(id, [...own].sort((a, b) => {
        const [x, y] = [this.aliases.get(a)!.mergedAt, this.aliases.get(b)!.mergedAt];
        return x < y ? -1 : x > y ? 1 : a < b ? -1 : a > b ? 1 : 0;
      }));
    }
    return { customers, takenIds, suppressed: new Set(), sharedValues, aliases };
  }

  /** What SqliteLinkStore/PostgresLinkStore `applyChanges` do to their tables, done to the copy. */
  async applyChanges(changes: LinkChanges, cursor?: SyncCursor): Promise<void> {
    if (changes.seenEvents?.length || changes.released.length > 0) throw new Error('a first sync planned on an in-memory copy brings no webhook events and releases no forgotten records');
    const now = new Date().toISOString();
    const kept = new Set<string>();
    for (const customer of changes.upserted) for (const key of customer.records.keys()) kept.add(key);
    // What the touched customers held and no longer do.
    for (const id of [...changes.upserted.map((c) => c.id), ...changes.removed.map((r) => r.customerId)]) {
      this.touched.add(id);
      for (const key of this.customers.get(id)?.records ?? []) if (!kept.has(key)) this.setRecord(key, undefined);
    }
    for (const customer of changes.upserted) {
      if (!this.customers.has(customer.id)) this.setCustomer(customer.id, customer.createdAt);
      for (const [key, { link, tokens, nameKey = null }] of customer.records) {
        // Most records a plan upserts are re-planned as they were (a customer is upserted whole when one record joins
        // it): they keep the token list they hold, so setRecord leaves their holders alone.
        const held = this.records.get(key)?.tokens;
        const unique = held !== undefined && (held === tokens || sameTokens(held, tokens)) ? held : uniqueTokens(tokens);
        this.setRecord(key, { link: { ...link, customerId: customer.id }, nameKey, tokens: unique });
      }
    }
    for (const { customerId, mergedInto } of changes.removed) {
      this.setCustomer(customerId, undefined);
      const pointing = [...(this.aliasesOf.get(customerId) ?? [])];
      if (mergedInto) {
        // Flatten: whatever pointed at the merged customer now points at its survivor.
        for (const alias of pointing) this.setAlias(alias, { customerId: mergedInto, mergedAt: this.aliases.get(alias)!.mergedAt });
        this.setAlias(customerId, { customerId: mergedInto, mergedAt: now });
      } else {
        for (const alias of pointing) this.setAlias(alias, undefined);
      }
    }
    for (const id of changes.restored ?? []) this.setAlias(id, undefined);
    for (const token of changes.suspected ?? []) {
      if (this.sharedValues.has(tokenString(token))) continue;
      this.sharedValues.set(tokenString(token), 'SUSPECTED');
      this.pending.sharedValues.push({ token, changedAt: now });
    }
    this.pending.conflicts.push(...changes.conflicts);
    for (const version of changes.versions ?? []) {
      const key = recordKeyString(version.record);
      this.versions.set(key, version);
      this.versionsChanged.add(key);
    }
    this.pending.history.push(...(changes.history ?? []));
    if (cursor) {
      // The last cursor of each entity: a write may end one entity's pass and begin the next's.
      const at = this.pending.cursors.findIndex((c) => c.source === cursor.source && c.entity === cursor.entity);
      if (at >= 0) this.pending.cursors[at] = cursor;
      else this.pending.cursors.push(cursor);
    }
    this.recordsPending += kept.size;
  }

  async appendAudit(entries: readonly AuditEntry[]): Promise<void> {
    this.pending.audit.push(...entries);
  }

  /** The rows to write to bring the store from the last bulk write to this copy; the copy then counts as written. */
  takeRows(): BulkLinkRows {
    const rows: BulkLinkRows = {
      customers: { upsert: [], delete: [] },
      links: { upsert: [], delete: [] },
      identifiers: { upsert: [], delete: [] },
      aliases: { upsert: [], delete: [] },
      versions: [...this.versionsChanged].map((key) => this.versions.get(key)!),
      ...this.pending,
      touched: [...this.touched],
    };
    for (const [id, before] of this.customersBefore) {
      const now = this.customers.get(id);
      if (now && now.createdAt !== before?.createdAt) rows.customers.upsert.push({ id, createdAt: now.createdAt });
      else if (!now && before) rows.customers.delete.push(id);
    }
    for (const [key, before] of this.recordsBefore) {
      const now = this.records.get(key);
      if (!now && !before) continue;
      const record = now?.link ?? before!.link;
      const recordKey = { source: record.source, entity: record.entity, recordId: record.recordId };
      if (!now) {
        if (before) rows.links.delete.push(recordKey);
      } else if (!before || before.link.customerId !== now.link.customerId || before.link.rule !== now.link.rule || before.link.evidence !== now.link.evidence || before.link.linkedAt !== now.link.linkedAt || before.nameKey !== now.nameKey) {
        rows.links.upsert.push({ link: now.link, nameKey: now.nameKey });
      }
      const held = new Map((before?.tokens ?? []).map((token, position) => [tokenString(token), { token, position }]));
      (now?.tokens ?? []).forEach((token, position) => {
        const was = held.get(tokenString(token));
        held.delete(tokenString(token));
        if (!was || was.position !== position || before!.link.customerId !== now!.link.customerId) rows.identifiers.upsert.push({ token, record: recordKey, position, customerId: now!.link.customerId });
      });
      for (const { token } of held.values()) rows.identifiers.delete.push({ token, record: recordKey });
    }
    for (const [id, before] of this.aliasesBefore) {
      const now = this.aliases.get(id);
      if (now && (now.customerId !== before?.customerId || now.mergedAt !== before.mergedAt)) rows.aliases.upsert.push({ aliasId: id, ...now });
      else if (!now && before) rows.aliases.delete.push(id);
    }
    this.customersBefore = new Map();
    this.recordsBefore = new Map();
    this.aliasesBefore = new Map();
    this.versionsChanged = new Set();
    this.pending = { sharedValues: [], conflicts: [], history: [], audit: [], cursors: [] };
    this.touched = new Set();
    this.recordsPending = 0;
    return rows;
  }

  private setCustomer(id: string, createdAt: string | undefined): void {
    const row = this.customers.get(id);
    if (!this.customersBefore.has(id)) this.customersBefore.set(id, row ? { createdAt: row.createdAt } : undefined);
    if (createdAt === undefined) this.customers.delete(id);
    else this.customers.set(id, { createdAt, records: row?.records ?? new Set() });
  }

  private setRecord(key: string, record: MirrorRecord | undefined): void {
    const before = this.records.get(key);
    if (!this.recordsBefore.has(key)) this.recordsBefore.set(key, before);
    if (before && record && before.tokens === record.tokens && before.link.customerId === record.link.customerId) {
      // The same customer holds the same tokens through it: only the row changes.
      this.records.set(key, record);
      return;
    }
    if (before) {
      this.customers.get(before.link.customerId)?.records.delete(key);
      for (const token of before.tokens) this.releaseHolder(tokenString(token), before.link.customerId);
    }
    if (!record) {
      this.records.delete(key);
      return;
    }
    this.records.set(key, record);
    this.customers.get(record.link.customerId)!.records.add(key);
    for (const token of record.tokens) this.addHolder(tokenString(token), record.link.customerId);
  }

  private holderIds(token: string): Iterable<string> {
    const held = this.holders.get(token);
    if (!held) return [];
    return held instanceof Map ? held.keys() : [held.customerId];
  }

  private addHolder(token: string, customerId: string): void {
    const held = this.holders.get(token);
    if (!held) this.holders.set(token, { customerId, count: 1 });
    else if (held instanceof Map) held.set(customerId, (held.get(customerId) ?? 0) + 1);
    else if (held.customerId === customerId) held.count += 1;
    else this.holders.set(token, new Map([[held.customerId, held.count], [customerId, 1]]));
  }

  /** One record of `customerId` no longer holds `token`: a customer holds a token as long as any of its records does. */
  private releaseHolder(token: string, customerId: string): void {
    const held = this.holders.get(token)!;
    if (held instanceof Map) {
      const count = held.get(customerId)! - 1;
      if (count > 0) held.set(customerId, count);
      else held.delete(customerId);
      if (held.size === 0) this.holders.delete(token);
    } else if (held.customerId === customerId) {
      held.count -= 1;
      if (held.count === 0) this.holders.delete(token);
    }
  }

  private setAlias(id: string, row: AliasRow | undefined): void {
    const before = this.aliases.get(id);
    if (!this.aliasesBefore.has(id)) this.aliasesBefore.set(id, before);
    if (before) this.aliasesOf.get(before.customerId)?.delete(id);
    if (!row) {
      this.aliases.delete(id);
      return;
    }
    this.aliases.set(id, row);
    let own = this.aliasesOf.get(row.customerId);
    if (!own) this.aliasesOf.set(row.customerId, (own = new Set()));
    own.add(id);
  }
}

/** Each token once, at its first position, as the stores keep a record's identifier rows. */
function uniqueTokens(tokens: readonly IdentifierToken[]): IdentifierToken[] {
  const seen = new Set<string>();
  return tokens.filter((token) => {
    const t = tokenString(token);
    if (seen.has(t)) return false;
    seen.add(t);
    return true;
  });
}
