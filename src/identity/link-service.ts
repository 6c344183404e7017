// The one code path that changes the link table (sync, on-demand lookups, webhooks, forget), serialised and cache-aware.
import pLimit from 'p-limit';
import type { HubConfig, SearchKind } from '../config/schema.js';
import type { RecordCache } from '../sources/record-cache.js';
import type { SourceRegistry } from '../sources/registry.js';
import type { LinkDirectory } from './directory.js';
import { compileIdentifierExtractor, incomingRecord, IdentityRules } from './identifiers.js';
import { deriveCustomerId, planLinks, tokensOf, type IncomingRecord, type MatchPolicy, type RecordChange } from './link-planner.js';
import type { CustomerLinks, IdentifierToken } from './model.js';
import { recordKeyString } from './model.js';
import { emailMd5, normalizeEmail } from './normalize.js';
import { linkAuditEntries, type LinkOrigin } from './link-audit.js';
import type { ForgottenCustomer, SyncCursor } from './store.js';

export interface ApplySummary {
  /** Customers whose records changed (created, joined, updated). */
  customersChanged: number;
  merges: number;
  conflicts: number;
  customersRemoved: number;
}

export interface LookupResult {
  customer: CustomerLinks | null;
  /** Sources that failed while probing; the answer may be incomplete without them. */
  errors: Error[];
}

export class LinkService {
  readonly rules: IdentityRules;
  private readonly policy: MatchPolicy;
  private readonly extractors = new Map<string, ReturnType<typeof compileIdentifierExtractor>>();
  /** A plan reads the graph and then writes it: two plans interleaved would each miss the other's links. */
  private readonly serial = pLimit(1);

  constructor(
    private readonly config: HubConfig,
    private readonly registry: SourceRegistry,
    private readonly directory: LinkDirectory,
    /** Holds what was read of records; a forget drops it with the links. */
    private readonly recordCache?: Pick<RecordCache, 'invalidate'>,
  ) {
    this.rules = new IdentityRules(config.identity);
    this.policy = { caps: config.identity.caps, uniqueEntities: new Set(config.identity.uniquePerCustomer) };
    for (const { source, entity, reader } of registry.linkedEntities()) {
      this.extractors.set(`${source}.${entity}`, compileIdentifierExtractor(reader.config, this.rules));
    }
  }

  /** A raw record as the planner needs it; null when the record has no ID. */
  toIncoming(source: string, entity: string, raw: unknown): IncomingRecord | null {
    const extract = this.extractors.get(`${source}.${entity}`);
    if (!extract) throw new Error(`${source}.${entity} is not a linked entity`);
    const recordId = this.registry.reader(source, entity).recordIdOf(raw);
    return recordId === null ? null : incomingRecord({ source, entity, recordId }, raw, extract);
  }

  /** Plans and writes record changes; every change is also written to the audit log under `origin`. */
  apply(changes: readonly RecordChange[], cursor?: SyncCursor, origin: LinkOrigin = { actor: 'system', requestId: 'internal' }): Promise<ApplySummary> {
    return this.serial(() => this.exclusive(async () => {
      const store = this.directory.store;
      const candidateIds = changes.flatMap((c) => ('upsert' in c ? [deriveCustomerId(recordKeyString(c.upsert))] : []));
      const graph = await store.loadGraph({ tokens: tokensOf(changes), candidateIds });
      const plan = planLinks(graph, changes, this.policy);
      if (plan.upserted.length > 0 || plan.removed.length > 0 || plan.conflicts.length > 0 || plan.released.length > 0 || cursor) {
        await store.applyChanges(plan, cursor);
      }
      const audit = linkAuditEntries(plan, origin);
      if (audit.length > 0) await store.appendAudit(audit);
      this.directory.invalidate([...plan.upserted.map((c) => c.id), ...plan.removed.map((r) => r.customerId)]);
      return {
        customersChanged: plan.upserted.length,
        merges: plan.removed.filter((r) => r.mergedInto !== null).length,
        conflicts: plan.conflicts.length,
        customersRemoved: plan.removed.filter((r) => r.mergedInto === null).length,
      };
    }));
  }

  /**
   * A customer by email or phone. A miss probes every source that can search by it, links what they
   * return, and answers from the table again, in the same request.
   */
  async lookup(kind: 'email' | 'phone', raw: string, requestId = 'internal'): Promise<LookupResult> {
    const [token] = this.rules.lookupTokens(kind, raw);
    if (!token) return { customer: null, errors: [] };
    const found = await this.directory.customerByIdentifier(token.kind, token.value);
    if (found || !this.config.identity.onDemand.enabled || this.directory.isKnownMiss(token)) return { customer: found, errors: [] };
    const errors = await this.probe(token, raw, requestId);
    const customer = await this.directory.customerByIdentifier(token.kind, token.value);
    if (!customer && errors.length === 0) this.directory.rememberMiss(token, this.config.identity.onDemand.missTtlMs);
    return { customer, errors };
  }

  private async probe(token: IdentifierToken, raw: string, requestId: string): Promise<Error[]> {
    // Sources search the address as people typed it, not our dot-and-plus canonical form.
    const typed = token.kind === 'email' ? normalizeEmail(raw) : token.value;
    const searches: { source: string; entity: string; kind: SearchKind; value: string }[] = [];
    for (const { source, entity, reader } of this.registry.linkedEntities()) {
      const params = reader.config.search?.params ?? {};
      if (typed === null) continue;
      if ((token.kind === 'email' || token.kind === 'phone') && params[token.kind]) searches.push({ source, entity, kind: token.kind, value: typed });
      if (token.kind === 'email' && params.email_md5) searches.push({ source, entity, kind: 'email_md5', value: emailMd5(typed) });
    }
    const results = await Promise.allSettled(searches.map(async (s) => ({ ...s, items: await this.registry.reader(s.source, s.entity).search(s.kind, s.value) })));
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
      const forgotten = await this.directory.store.forgetCustomer(customerId);
      if (forgotten) {
        this.directory.invalidate([forgotten.customerId, customerId]);
        this.recordCache?.invalidate(forgotten.records);
      }
      return forgotten;
    }));
  }

  /** `serial` orders this process's plans; a store shared by several processes also takes its lock across them. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const store = this.directory.store;
    return store.withLinkLock ? store.withLinkLock(work) : work();
  }
}
