// Builds and refreshes the link table by paging through every linked entity, resumably, through the LinkService.
import type { SourceRegistry } from '../sources/registry.js';
import type { LinkService, VersionedChange } from './link-service.js';
import type { LinkStore, SyncCursor } from './store.js';

export interface EntitySyncSummary {
  source: string;
  entity: string;
  records: number;
  pages: number;
  /** True when this run continued a pass an earlier run left unfinished. */
  resumed: boolean;
  /** Links removed because this complete pass no longer listed their records (0 after a resumed pass: it saw only part). */
  reconciled: number;
}

export interface SyncSummary {
  entities: EntitySyncSummary[];
  records: number;
  customersChanged: number;
  merges: number;
  splits: number;
  conflicts: number;
  /** Records ignored because the table already held that version or a newer one (a webhook was faster). */
  stale: number;
  reconciled: number;
  customers: number;
  ms: number;
}

export interface SyncOptions {
  /** Called after each page is linked and its cursor saved; throwing here stops the sync like a crash would. */
  onPage?: (progress: { source: string; entity: string; records: number; pages: number }) => void;
}

/**
 * One pass over every linked entity, in config order, each page applied in order while the next is fetched.
 * Applying in a fixed order makes a fresh build deterministic: the same data gives the same customer IDs,
 * evidence and merges on every machine (in parallel, whichever source answered first would seed customers).
 * Each page's links and the cursor after it are written in one transaction, so a crash loses nothing and the
 * next run resumes after the last written page. A completed pass leaves the cursor empty: the next run starts
 * over, and records that did not change change nothing.
 */
export function syncLinks(services: { registry: SourceRegistry; links: LinkService; store: LinkStore }, options: SyncOptions = {}): Promise<SyncSummary> {
  // One sync at a time across every process sharing the store: two passes would each reconcile against half a view.
  return services.store.withSyncLock(() => syncPass(services, options));
}

/**
 * A complete pass (every page read without error, from the first) also reconciles: records the source no longer
 * lists lose their links through the planner. A resumed pass saw only its tail, so it deletes nothing.
 */
async function syncPass({ registry, links, store }: { registry: SourceRegistry; links: LinkService; store: LinkStore }, options: SyncOptions): Promise<SyncSummary> {
  const started = performance.now();
  const totals = { customersChanged: 0, merges: 0, splits: 0, conflicts: 0, stale: 0 };
  const entities: EntitySyncSummary[] = [];
  for (const { source, entity, reader } of registry.linkedEntities()) {
    const summary: EntitySyncSummary = { source, entity, records: 0, pages: 0, resumed: false, reconciled: 0 };
    const listed = new Set<string>();
    entities.push(summary);
    if (!reader.config.list) continue;
    const saved = await store.getSyncCursor(source, entity);
    summary.resumed = saved !== null && saved.completedAt === null && saved.cursor !== null;
    const passStartedAt = summary.resumed ? saved!.passStartedAt : new Date().toISOString();
    const pages = reader.listPages({ resumeFrom: summary.resumed ? saved!.cursor : null });
    let next = pages.next();
    try {
      for (;;) {
        const result = await next;
        if (result.done) break;
        const page = result.value;
        // Fetch the following page while this one is linked: the source's latency hides behind our CPU.
        if (page.next !== null) {
          next = pages.next();
          // Marked handled so a crash before it is awaited leaves no unhandled rejection; awaiting it still throws.
          next.catch(() => undefined);
        }
        const changes: VersionedChange[] = [];
        for (const raw of page.items) {
          const change = links.upsertOf(source, entity, raw);
          if (!change) continue;
          changes.push(change);
          if ('upsert' in change) listed.add(change.upsert.recordId);
        }
        const cursor: SyncCursor = { source, entity, cursor: page.next, passStartedAt, completedAt: page.next === null ? new Date().toISOString() : null };
        const applied = await links.apply(changes, cursor, { actor: 'sync', requestId: `sync:${source}.${entity}:${passStartedAt}` });
        totals.customersChanged += applied.customersChanged;
        totals.merges += applied.merges;
        totals.splits += applied.splits;
        totals.conflicts += applied.conflicts;
        totals.stale += applied.stale;
        summary.records += changes.length;
        summary.pages += 1;
        options.onPage?.({ source, entity, records: summary.records, pages: summary.pages });
        if (page.next === null) break;
      }
    } catch (error) {
      // Nothing of this sync may still be running once it has failed: wait for the page fetched ahead.
      await next.catch(() => undefined);
      throw error;
    }
    // Lets the generator finish (and release its request state) when the loop left it at its last page.
    await pages.return(undefined);
    if (!summary.resumed) summary.reconciled = await links.reconcile(source, entity, listed, passStartedAt);
  }
  return {
    entities,
    records: entities.reduce((n, e) => n + e.records, 0),
    ...totals,
    reconciled: entities.reduce((n, e) => n + e.reconciled, 0),
    customers: await store.countCustomers(),
    ms: Math.round(performance.now() - started),
  };
}
