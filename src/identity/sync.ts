// Builds and refreshes the link table by paging through every linked entity, resumably, through the LinkService.
import type { SourceRegistry } from '../sources/registry.js';
import type { LinkService } from './link-service.js';
import type { RecordChange } from './link-planner.js';
import type { LinkStore, SyncCursor } from './store.js';

export interface EntitySyncSummary {
  source: string;
  entity: string;
  records: number;
  pages: number;
  /** True when this run continued a pass an earlier run left unfinished. */
  resumed: boolean;
}

export interface SyncSummary {
  entities: EntitySyncSummary[];
  records: number;
  customersChanged: number;
  merges: number;
  conflicts: number;
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
export async function syncLinks({ registry, links, store }: { registry: SourceRegistry; links: LinkService; store: LinkStore }, options: SyncOptions = {}): Promise<SyncSummary> {
  const started = performance.now();
  const totals = { customersChanged: 0, merges: 0, conflicts: 0 };
  const entities: EntitySyncSummary[] = [];
  for (const { source, entity, reader } of registry.linkedEntities()) {
    const summary: EntitySyncSummary = { source, entity, records: 0, pages: 0, resumed: false };
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
        const changes: RecordChange[] = [];
        for (const raw of page.items) {
          const record = links.toIncoming(source, entity, raw);
          if (record) changes.push({ upsert: record });
        }
        const cursor: SyncCursor = { source, entity, cursor: page.next, passStartedAt, completedAt: page.next === null ? new Date().toISOString() : null };
        const applied = await links.apply(changes, cursor, { actor: 'sync', requestId: `sync:${source}.${entity}:${passStartedAt}` });
        totals.customersChanged += applied.customersChanged;
        totals.merges += applied.merges;
        totals.conflicts += applied.conflicts;
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
  }
  return {
    entities,
    records: entities.reduce((n, e) => n + e.records, 0),
    ...totals,
    customers: await store.countCustomers(),
    ms: Math.round(performance.now() - started),
  };
}
